"""The bridge as an LTI 1.3 platform for a graded capstone tool (``/lti/platform/...``).

A learner signed in to mentorNET starts the tool at ``/lti/platform/launch/<name>``; the tool posts AGS scores
back, and a score that is Completed, FullyGraded and at or above the tool's pass mark provisions the learner
through the same operation as every other completion source. The LTI work is ``lti_bridge.platform.core``.
"""
