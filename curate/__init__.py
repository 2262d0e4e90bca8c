"""synthdepth stages."""
