"""Model definitions the cases use (the MiniLM-L6 sentence encoder); torch required."""
