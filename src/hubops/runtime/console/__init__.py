"""The console: server-rendered pages under `/console` for operators, viewers and brand admins.

`routes.install(app)` mounts it. Pages only read what the runtime holds;
the buttons call the runtime's existing functions (redelivery, manual
catalog uploads), and nothing configured in git is editable here.
"""
