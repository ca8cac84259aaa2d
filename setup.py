"""One distribution, three packages: the network service, the LMS bridge and the Open edX XBlock."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

POSTGRES = ["psycopg[binary]>=3.1,<4"]
CELERY = ["celery[redis]>=5.3,<6", "redis>=5,<9"]
# The LMS brings its own openedx-events; this is the range the forwarder is tested with.
OPENEDX = ["XBlock>=6.1,<7", "openedx-events>=9.10,<12"]
TEST = [
    *POSTGRES,
    *CELERY,
    "openedx-events>=9.10,<12",  # pulls Django, edx-django-utils and edx-opaque-keys for the forwarder tests
    "pytest>=8,<10",
    "aiosmtpd>=1.4,<2",
    "requests>=2.31,<3",
    "ruff>=0.6",
    # Drives Debian's chromium package (executable_path); `playwright install` is never run. Tested: 1.65.2.
    "playwright>=1.65,<2",
    # Open edX's LTI 1.3 platform code (LtiAdvantageConsumer) launching our tool end to end. Tested: 11.4.4.
    "lti-consumer-xblock>=9.14,<12",
    # A tool nobody here wrote, launched by our platform side and posting scores (tests/test_lti_capstone.py), and
    # the peer of bench/lti_launch.py. Unmaintained since 2022: a test peer only, never imported by the product.
    "PyLTI1p3>=2.0,<3",
    "XBlock>=6.1,<7",  # the XBlock's tests (lti-consumer-xblock pulls it too)
    "schemathesis>=4.32,<5",  # tests/test_api_schemathesis.py, in process against the WSGI app
    "hypothesis>=6.100,<7",
    "bandit>=1.9,<2",  # make quality
    "pip-audit>=2.10,<3",  # make quality (needs pypi.org's vulnerability data)
]

setup(
    name="mentornet",
    version="0.1.0",
    description="mentorNET: turns MOOC graduates into a self-sustaining network of mentors for migrants",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    python_requires=">=3.11,<3.13",
    packages=find_packages(include=["network_service*", "lti_bridge*", "mentornet_xblock*"]),
    include_package_data=False,  # package_data below is the complete list (no MANIFEST.in)
    package_data={
        "network_service": [
            "templates/*.html",
            "templates/*/*.html",
            "templates/*/*.txt",
            "static/*/*",
            "translations/messages.pot",
            "translations/*/LC_MESSAGES/*",
            "migrations/*.mako",
            "migrations/versions/*.py",
        ],
        "lti_bridge": ["migrations/versions/*.py"],
        "mentornet_xblock": [
            "static/*/*",
            "public/*",
            "translations/text.pot",
            "translations/*/LC_MESSAGES/*",
        ],
    },
    install_requires=[
        "flask>=3.0,<3.2",
        "sqlalchemy>=2.0.30,<2.2",
        "alembic>=1.13,<2",
        "flask-wtf>=1.2,<2",
        "wtforms>=3.1,<3.4",  # 3.4 drops tuple choices for SelectField
        "flask-babel>=4.0,<4.1",  # network_service/i18n.py replaces its private _get_current_context (tests/test_i18n.py)
        "flask-smorest>=0.46,<0.48",
        "marshmallow>=3.20,<5",
        "flask-limiter>=3.8,<5",
        "gunicorn>=23,<28",  # 22 and older: request smuggling (CVE-2024-6827, fixed in 23.0.0)
        "requests>=2.31,<3",
        "PyJWT[crypto]>=2.8,<3",  # the LTI tool verifies id_tokens itself (RS256, keys from the platform's JWKS)
        "markdown-it-py>=3,<5",  # CommonMark for posts, help requests, notes; the HTML is then cleaned by nh3
        "nh3>=0.2.17,<0.4",
        "icalendar>=5,<8",  # meeting feeds
        "segno>=1.5,<2",  # QR codes of the promotion kit (SVG and PNG, no Pillow)
        # The LTI platform side (lti_bridge.platform, used by the XBlock); 0.1.8 needs but does not declare
        # typing_extensions. Its framework adapters are never imported (they need pkg_resources).
        "lti1p3platform>=0.1.8,<0.2",
        "jwcrypto>=1.5,<2",
        "typing_extensions>=4.6",
    ],
    extras_require={
        "postgres": POSTGRES,
        "celery": CELERY,
        "openedx": OPENEDX,
        "test": TEST,
    },
    entry_points={
        "console_scripts": ["mentornet=network_service.cli:main"],
        "mentornet.plugins": ["lti_bridge=lti_bridge.plugin:BridgePlugin"],
        "lms.djangoapp": [
            "mentornet_forwarder=mentornet_xblock.forwarder.apps:ForwarderConfig",
            "mentornet_lms=mentornet_xblock.lms.apps:MentorNetLmsConfig",
        ],
        "xblock.v1": ["mentornet=mentornet_xblock.block:MentorNetXBlock"],
    },
    classifiers=[
        "Framework :: Flask",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ],
)
