"""Members of private groups (network_service/conversations/views.py, api/conversations.py): add, remove, leave.

The walk's channel is the demo's first open channel, which has no members to change: everyone gets a 4xx there
(409 from the operation for those who may manage it). In the demo's private group
(test_private_groups_and_direct_messages_on_every_route) only its members get through.
"""

from tests.route_access import LEADERS, MEMBERS_AND_ADMIN

ACCESS = {
    "conversations.add_member": LEADERS,  # can_manage_channel; 409 for an open channel
    "conversations.remove_member": LEADERS,
    "conversations.leave": set(),  # only a member of a private group, never an open channel (404)
    ("api_conversations.GroupMembers", "GET"): MEMBERS_AND_ADMIN,  # an empty list for an open channel
    ("api_conversations.GroupMembers", "POST"): LEADERS,
    "api_conversations.GroupMember": LEADERS,
}
