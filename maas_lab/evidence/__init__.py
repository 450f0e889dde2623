"""Evidence: the only code that reads the world (cluster, Routes, LiteLLM, LiteMaaS). It knows nothing of grading."""
