"""Settings the plugin adds to the LMS (``plugin_settings`` functions called by edx-django-utils)."""
