API_PREFIX = "/api/v1"  # the one place the API version lives
