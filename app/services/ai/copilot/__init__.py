"""The AI copilot for doctors (SPEC §15): a hand-over SUMMARY of the consultation for the
group's doctors and a reply SUGGESTION for the doctor who asks.

Copilot records travel the AI layer's one pipeline (outbox, claim, retries, deadline, providers,
record transitions) with their `kind`; where a REPLY is appended to the group's log, a copilot
record keeps its text on the record and streams it to doctors' user channels only, so it is
never a message and never reaches a patient.
"""
