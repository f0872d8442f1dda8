"""Notifications for people who are away (SPEC §13): signed webhooks for the operator's back
end and Web Push for browsers. A layer beside the core: it plugs in through the core's hooks
(app/bootstrap.py wires it) and the core never imports it."""
