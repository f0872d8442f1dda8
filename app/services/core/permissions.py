"""The few central permission checks of SPEC §4, shared by every service."""

from app.errors import NotFound, PermissionDenied
from app.models import Group, GroupMember, UserRole
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.services.core.actor import Actor


async def require_group(groups: GroupRepository, group_id: str) -> Group:
    group = await groups.get_by_id(group_id)
    if group is None:
        raise NotFound(f"Group {group_id} not found", code="GROUP_NOT_FOUND")
    return group


async def require_member(
    groups: GroupRepository, members: GroupMemberRepository, group_id: str, user_id: str
) -> GroupMember:
    """The caller's membership; 404 for an unknown group, 403 for a non-member."""
    member = await members.get_member(group_id, user_id)
    if member is not None:
        return member
    if not await groups.exists(group_id):
        raise NotFound(f"Group {group_id} not found", code="GROUP_NOT_FOUND")
    raise PermissionDenied("You are not a member of this group", code="NOT_A_MEMBER")


async def require_group_admin(
    groups: GroupRepository, members: GroupMemberRepository, group_id: str, actor: Actor
) -> Group:
    """The group, if the actor holds the service key or is one of its DOCTOR members."""
    group = await require_group(groups, group_id)
    if actor.is_service:
        return group
    member = await members.get_member(group_id, actor.require_user().user_id)
    if member is None:
        raise PermissionDenied("You are not a member of this group", code="NOT_A_MEMBER")
    if member.user_role != UserRole.DOCTOR:
        raise PermissionDenied("Only the group's doctors may do this", code="NOT_GROUP_DOCTOR")
    return group
