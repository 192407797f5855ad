"""The chat room: the terminal session, its commands, its store and its rendering."""
