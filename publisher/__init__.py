"""Everything a person sees: the web app, feeds and their templates."""
