"""TenFour: software for clinics that treat PTSD in first responders with ketamine infusions."""

__version__ = "0.1.0"
