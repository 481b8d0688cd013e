"""Time and watch: the working-day calendar, legal deadlines and their clock,
电子监察 supervision, ratings (好差评), incidents, periodic jobs, personal-data views."""
