"""Reading, checking and cleaning the raw labelled texts."""
