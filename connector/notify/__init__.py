"""Customer notifications: which are due (events), how they read (render), and their delivery (send)."""
