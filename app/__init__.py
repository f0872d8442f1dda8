"""IM Service: group chat for medical consultation, with an optional AI assistant layer."""
