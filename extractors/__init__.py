"""Raw bytes to clean entries: feeds, press-release pages, text, language, URLs."""
