"""Network definitions, one model per folder, with the official module names."""
