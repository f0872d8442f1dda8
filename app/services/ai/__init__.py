"""The AI layer: routes patients' messages to an external AI and posts its replies.

It plugs into the core through `MessageService.add_hook`; the core never imports it.
"""
