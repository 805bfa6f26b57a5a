"""Reading and writing: every file the tool reads or writes passes through here."""
