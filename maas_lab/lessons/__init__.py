"""One module a lesson; each registers its checks with `@check`. `common` holds what several lessons share."""
