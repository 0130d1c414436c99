"""Data files the app ships: icons, the concept map. Read with importlib.resources."""
