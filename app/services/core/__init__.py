"""The IM core: users, tokens, groups, members, messages, read state, real-time events."""
