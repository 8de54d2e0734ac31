"""The dashboard face: a page in the browser that shows, follows and acts on
jobs (issue 22), served by the service itself at /ui/.

It is static: plain HTML, CSS and JavaScript modules in `static/`, no build
step, nothing fetched from elsewhere. The page calls the REST API and the
/events WebSocket with the credential its user signs in with (kept in the
browser's session storage), so these routes take none: `pages` serves the
files, each with a Content-Security-Policy that forbids inline scripts.
"""
