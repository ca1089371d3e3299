"""The province model: profiles, calendar, areas and administrative units."""
