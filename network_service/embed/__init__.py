"""The compact panel made for iframes (LMS course pages, the Open edX XBlock): ``/embed/panel``."""
