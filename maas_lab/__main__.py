from maas_lab.cli import main

main()
