"""The web app: a static single page, served by the API at `/`, that uses the JSON API."""
