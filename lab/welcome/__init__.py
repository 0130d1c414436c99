"""The Welcome page's side of lab: its view (the page has no settings of its own)."""
