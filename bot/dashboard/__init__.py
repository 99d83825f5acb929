"""The admins' web dashboard: usage figures, unanswered questions, call-back requests.

`aiguillage dashboard` serves it (bound to 127.0.0.1 by default). Modules, one job each:

- `settings`   the `dashboard:` section of config.yaml (host, port, admins, session lifetime)
- `passwords`  Argon2id password hashes (`aiguillage dashboard --hash-password`)
- `sessions`   signed session cookies, per-session CSRF tokens, expiry
- `throttle`   the login rate limit
- `data`       the dashboard's own queries on the SQLite database (pseudonymised events only)
- `labels`     French labels for ids (needs, categories, FAQ, départements, counsellor codes)
- `charts`     server-side SVG charts (no JavaScript)
- `csvexport`  CSV files for spreadsheets (UTF-8 with BOM, `;` separator)
- `faqedit`    a question turned into a FAQ variant, written to YAML and checked
- `web`        the aiohttp application: routes, security headers, pages
"""
