-- wrk script: every request creates one `copy` job (POST text=x).
-- The daemon answers 303 See Other; wrk does not follow it.
wrk.method = "POST"
wrk.body = "text=x"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
