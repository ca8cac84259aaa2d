"""Pages of the conversations section: channels, threads, direct messages, search."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from network_service import page_cache, security
from network_service.accounts.models import Person
from network_service.conversations import operations, permissions
from network_service.conversations.forms import (
    ChannelForm,
    ChannelSettingsForm,
    ConfirmForm,
    DirectForm,
    MessageForm,
)
from network_service.conversations.models import Channel, ChannelKind, Message
from network_service.errors import MentorNetError, NotFound
from network_service.federations import access as federation_access
from network_service.fragments import FragmentCache, kept_form, reader_context
from network_service.networks import navigation
from network_service.networks import operations as networks
from network_service.networks.models import Network
from network_service.networks.operations import AgreementPending
from network_service.security import current_person, login_required
from network_service.web import cursor_arg, form_status, keep_form_for_agreement

bp = Blueprint("conversations", __name__, url_prefix="/networks/<slug>/conversations")

# Posting is limited per person: here, before any work (the person, never the client address: many mentors share
# one, behind an office's or a mobile network's NAT; found by bench/load.py --production), and in the operation
# (operations.FLOOD_LIMIT).
POST_RATE_LIMIT = "30 per minute"
POST_ENDPOINTS = ("conversations.channel", "conversations.thread", "conversations.new_direct")
# Each edit keeps a revision; each new channel and each added member is a row every member's pages read (and a
# channel's list grows for everyone): limited per person, the pages and the API one budget (docs/security.md).
EDIT_RATE_LIMIT = "60 per hour;300 per day"
EDIT_ENDPOINTS = (("conversations.edit", ["POST"]), ("api_conversations.MessageDetail", ["PATCH"]))
CHANNEL_RATE_LIMIT = "10 per hour;30 per day"
CHANNEL_ENDPOINTS = (("conversations.new_channel", ["POST"]), ("api_conversations.Channels", ["POST"]))
MEMBER_RATE_LIMIT = "150 per hour;400 per day"
MEMBER_ENDPOINTS = (("conversations.add_member", ["POST"]), ("api_conversations.GroupMembers", ["POST"]))


@bp.record_once
def _limits(state) -> None:
    limits = state.app.extensions.setdefault("mentornet.rate_limits", [])
    for endpoint in POST_ENDPOINTS:
        limits.append((endpoint, POST_RATE_LIMIT, ["POST"], {"key_func": security.api_rate_key}))
    security.keep_form_when_limited(state.app, POST_ENDPOINTS)  # a refused message is kept, ready to send


security.declare_shared_limit(bp, "message-edits", EDIT_RATE_LIMIT, EDIT_ENDPOINTS)
security.declare_shared_limit(bp, "channels", CHANNEL_RATE_LIMIT, CHANNEL_ENDPOINTS)
security.declare_shared_limit(bp, "channel-members", MEMBER_RATE_LIMIT, MEMBER_ENDPOINTS)


navigation.register_section(
    navigation.Section(
        key="conversations",
        endpoint="conversations.index",
        label=lambda: _("Conversations"),
        order=10,
        visible=permissions.can_read_network_conversations,
        badge=operations.unread_channel_count,
        badge_query=operations.unread_channel_query,
    )
)


@bp.app_template_filter("message_markdown")
def _message_markdown(body: str):
    return operations.render_message(body)


# The <article> of each message as every plain reader sees it (see MessageView.article and docs/conversations.md).
articles = FragmentCache(size=5000)


class MessageView:
    """What the viewer may see and do with each message of a page (permission answers are cached per request,
    so a page of 30 messages asks the database the same few questions as a page of one)."""

    def __init__(self, viewer: Person | None, network: Network, blocked: set[int] | None = None):
        """``blocked``: whom the viewer blocked, when the page knows it already (else one query)."""
        self.viewer = viewer
        self.network = network
        self.moderator = permissions.is_moderator(viewer, network)
        self.blocked = operations.blocked_by(viewer) if blocked is None else blocked
        self._context: tuple | None = None
        self._reports_in: dict[int, bool] = {}  # channel id -> whether the viewer may report there

    def shared(self, message: Message) -> bool:
        """Whether the viewer sees ``message`` as any plain reader does: not its author (edit, delete, earlier
        versions, a hidden text still shown), not a moderator (hide, delete), not someone who blocked its
        author. Only such messages come from the ``articles`` cache."""
        return (
            not self.moderator
            and (self.viewer is None or message.author_id != self.viewer.id)
            and message.author_id not in self.blocked
        )

    def article(self, macro, message: Message, confirm_form, thread_link: bool = False) -> Markup:
        """The message's ``<article>`` rendered by ``macro`` (conversations/_message.html), from the cache when
        it is the same for every plain reader."""
        if not self.shared(message):
            return macro(message, self, self.network, confirm_form, thread_link=thread_link)
        if self._context is None:
            self._context = (
                *reader_context(),
                self.network.slug,
            )
        author = message.author
        key = (
            self._context,
            self._may_report_in(message),
            thread_link,
            message.id,
            message.parent_id,
            message.author_id,
            author.name_or_email if author is not None else None,
            message.body,
            message.created_at,
            message.edited_at,
            message.deleted_at,
            message.hidden_at,
            message.reply_count,
        )
        html = articles.get(key)
        if html is None:
            html = str(macro(message, self, self.network, confirm_form, thread_link=thread_link))
            articles.put(key, html)
        return Markup(html)  # noqa: S704  # nosec B704 - rendered by the autoescaping template

    def thread_list(self, macro, threads, confirm_form, before: int | None) -> Markup:
        """The channel page's ``<li>`` of each thread (``threads``: a page of ``operations.list_thread_rows``, all
        of one channel). When the viewer sees every one of them as any plain reader does (``shared``), the whole
        list is kept in the page cache under what the threads were kept under (channel, cursor, page size and
        the versions of ``conversations`` and ``structure``) and what each article is rendered for (language,
        time zone, root, network, whether the viewer reports there): a page seen again renders nothing."""

        def render() -> str:
            return "".join(
                f"<li>{self.article(macro, message, confirm_form, thread_link=True)}</li>"
                for message in threads
            )

        if not threads or not all(self.shared(message) for message in threads):
            return Markup(render())  # noqa: S704  # nosec B704 - rendered by the autoescaping template
        first = threads[0]
        key = (first.channel_id, before, operations.PAGE_SIZE, *reader_context(), self.network.slug)
        key += (self._may_report_in(first),)
        html = page_cache.cached(
            "channel_thread_list", key, (page_cache.CONVERSATIONS, page_cache.STRUCTURE), render
        )
        return Markup(html)  # noqa: S704  # nosec B704 - rendered by the autoescaping template

    def state(self, message: Message) -> str:
        if message.deleted_at is not None:
            return "deleted"
        if message.hidden_at is not None:
            return "hidden-visible" if permissions.sees_hidden_text(self.viewer, message) else "hidden"
        if message.author_id in self.blocked:
            return "blocked"
        return "shown"

    def can_edit(self, message: Message) -> bool:
        return permissions.can_edit(self.viewer, message)

    def can_delete(self, message: Message) -> bool:
        return permissions.can_delete(self.viewer, message)

    def _may_report_in(self, message: Message) -> bool:
        """Whether the viewer reports messages of this message's channel: a member of the network, or a reader of
        a channel shared with their federation (asked once per channel and page)."""
        if self.viewer is None:
            return False
        if message.channel_id not in self._reports_in:
            self._reports_in[message.channel_id] = permissions.reads_as_member(self.viewer, message.channel)
        return self._reports_in[message.channel_id]

    def can_report(self, message: Message) -> bool:
        return (
            self.viewer is not None
            and message.author_id != self.viewer.id
            and message.deleted_at is None
            and self._may_report_in(message)
        )

    def can_see_history(self, message: Message) -> bool:
        return (message.edited_at or message.deleted_at) is not None and permissions.can_see_revisions(
            self.viewer, message
        )


class _LazyConfirmForm:
    """A ``ConfirmForm`` made when a message's delete or hide form first asks for its CSRF field: on a channel page
    of messages every plain reader sees alike (``MessageView.shared``), none does."""

    __slots__ = ("_form",)

    def __init__(self) -> None:
        self._form: ConfirmForm | None = None

    @property
    def csrf_token(self):
        if self._form is None:
            self._form = ConfirmForm()
        return self._form.csrf_token


def _network(slug: str) -> Network:
    return networks.get_network(slug)


def _message_of(network: Network, message_id: int, viewer: Person | None) -> Message:
    message = operations.get_message(message_id, viewer)
    if message.channel.network_id != network.id:
        raise NotFound(_("There is no such message, or it is not open to you."))
    return message


def _apply_error(form, exc: MentorNetError, default_field: str | None = None) -> None:
    """Show a refused input next to its field; a refusal of the person (403, 404) stays an error page, but for a
    new version of the agreement to accept first: the form is shown again with what was typed and a link to the
    agreement, which brings the person back here once they accepted it (``_agreement_needed.html``)."""
    if keep_form_for_agreement(form, exc):
        return
    if exc.status in (403, 404) and exc.field is None:
        raise exc
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None and default_field:
        field = getattr(form, default_field, None)
    (field.errors if field is not None else form.form_errors).append(exc.detail)


def _form_errors_as_list(form) -> None:
    # WTForms keeps field errors as tuples until validation ran; operations append to them.
    for field in form:
        field.errors = list(field.errors)


@bp.get("")
@login_required
def index(slug: str):
    network = _network(slug)
    viewer = current_person()
    rows = operations.list_channels(network, viewer)
    return render_template(
        "conversations/index.html",
        network=network,
        rows=rows,
        shared_rows=operations.list_shared_channels(network, viewer),
        can_create_open=permissions.can_create_open_channel(viewer, network),
        can_create_group=permissions.can_create_private_group(viewer, network),
        direct_unread=sum(operations.unread_counts(network, viewer, (ChannelKind.direct,)).values()),
        confirm_form=ConfirmForm(),
    )


@bp.post("/setup")
@login_required
def setup(slug: str):
    network = _network(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    channel = operations.setup_default_channels(network, actor=current_person())[0]
    flash(_("The channel %(name)s is open.", name=channel.name), "success")
    return redirect(url_for("conversations.channel", slug=slug, channel_slug=channel.slug), 303)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@security.keeps_form(ChannelForm, hidden=("members",))  # chosen with the picker
def new_channel(slug: str):
    network = _network(slug)
    viewer = current_person()
    if not permissions.can_create_private_group(viewer, network) and not permissions.can_create_open_channel(
        viewer, network
    ):
        abort(403)
    form = ChannelForm()
    may_open = permissions.can_create_open_channel(viewer, network)
    if not may_open:
        form.kind.choices = [c for c in form.kind.choices if c[0] == ChannelKind.private.value]
    elif not permissions.can_create_private_group(viewer, network):  # a site administrator, not a member
        form.kind.choices = [c for c in form.kind.choices if c[0] == ChannelKind.open.value]
        if not form.is_submitted():
            form.kind.data = ChannelKind.open.value
    if form.validate_on_submit():
        try:
            channel = operations.create_channel(
                network,
                actor=viewer,
                name=form.name.data,
                kind=ChannelKind(form.kind.data),
                description=form.description.data or "",
                member_ids=form.members.data or [],
            )
        except MentorNetError as exc:
            _form_errors_as_list(form)
            _apply_error(form, exc)
        else:
            flash(_("%(name)s is ready.", name=channel.name), "success")
            return redirect(url_for("conversations.channel", slug=slug, channel_slug=channel.slug), 303)
    status = form_status(form)
    picker = None
    if permissions.can_create_private_group(viewer, network):  # the members of a private group (``Picker``)
        posted = (form.members.data or []) if request.method == "POST" else None
        picker = Picker(network, viewer, direct=False, most=operations.MAX_GROUP_MEMBERS - 1, posted=posted)
        if picker.error and status == 200:
            status = 422
    return render_template(
        "conversations/new_channel.html", network=network, form=form, picker=picker
    ), status


# The channel page's empty "New thread" form, rendered once per language; the session's CSRF token put in.
_thread_forms = FragmentCache(size=64, max_bytes=256 * 1024)


def _new_thread_form() -> Markup:
    """``conversations/_thread_form.html`` for an empty form (a page asked with GET), the same for every reader of
    a language but for the CSRF token of the session, which is put in. The form itself is made only to render."""
    return kept_form(
        _thread_forms,
        reader_context(),
        lambda: render_template("conversations/_thread_form.html", form=MessageForm()),
    )


def _channel_page(
    network: Network,
    channel: Channel,
    viewer: Person,
    form: MessageForm | None,
    status: int = 200,
    state: operations.ReadState | None = None,
    blocked: frozenset[int] | None = None,
):
    threads, older = operations.list_thread_rows(
        channel, viewer, before=cursor_arg("before"), blocked=blocked
    )
    if status == 200 and not request.args.get("before"):
        operations.mark_read(channel, viewer, state=state)
    can_post = permissions.can_post(viewer, channel)
    blocked_here = can_post and operations.blocks_in_direct(channel, viewer)
    return render_template(
        "conversations/channel.html",
        network=network,
        channel=channel,
        threads=threads,
        older=older,
        form=form,
        form_html=_new_thread_form() if form is None and can_post and not blocked_here else None,  # GET
        blocked_here=blocked_here,
        before=cursor_arg("before"),
        # the authors of the page came with whether the viewer blocked them
        view=MessageView(viewer, network, {m.author.id for m in threads if m.author and m.author.blocked}),
        can_post=can_post,
        can_manage=permissions.can_manage_channel(viewer, channel),
        members=(members := operations.channel_members(channel, viewer)),
        can_leave=channel.kind == ChannelKind.private and any(p.id == viewer.id for p in members),
        confirm_form=_LazyConfirmForm(),
        index_network=_conversations_for(viewer, network, channel),
    ), status


def _conversations_for(viewer: Person, network: Network, channel: Channel) -> Network | None:
    """The network whose conversations "All conversations" leads to: the channel's for a member of it; for a reader
    from a federation the channel is shared with, their own network's (whose list shows the shared channels);
    else none (no link)."""
    if permissions.can_read_network_conversations(viewer, network):
        return network
    reading = federation_access.networks_reading_in(viewer, channel)
    return reading[0] if reading else None


@bp.route("/c/<channel_slug>", methods=["GET", "POST"])
@login_required
@security.keeps_form(MessageForm)
def channel(slug: str, channel_slug: str):
    network = _network(slug)
    viewer = current_person()
    if request.method == "GET":  # the channel with the reader's read state and blocks, in one statement
        channel, state, blocked = operations.channel_page(network, channel_slug, viewer)
        return _channel_page(network, channel, viewer, None, state=state, blocked=blocked)
    channel = operations.get_channel(network, channel_slug, viewer)
    form = MessageForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                message = operations.post_message(channel, actor=viewer, body=form.body.data)
            except MentorNetError as exc:
                _form_errors_as_list(form)
                _apply_error(form, exc, "body")
                status = exc.status if exc.status in (403, 409, 429) else 422
                return _channel_page(network, channel, viewer, form, status)
            return redirect(
                url_for(
                    "conversations.channel", slug=slug, channel_slug=channel.slug, _anchor=f"m{message.id}"
                ),
                303,
            )
        return _channel_page(network, channel, viewer, form, 422)
    return _channel_page(network, channel, viewer, form)


@bp.route("/c/<channel_slug>/settings", methods=["GET", "POST"])
@login_required
def settings(slug: str, channel_slug: str):
    network = _network(slug)
    viewer = current_person()
    channel = operations.get_channel(network, channel_slug, viewer)
    if not permissions.can_manage_channel(viewer, channel):
        abort(403)
    form = ChannelSettingsForm(obj=channel)
    if form.validate_on_submit():
        try:
            operations.update_channel(
                channel, actor=viewer, name=form.name.data, description=form.description.data or ""
            )
        except MentorNetError as exc:
            _form_errors_as_list(form)
            _apply_error(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("conversations.channel", slug=slug, channel_slug=channel.slug), 303)
    return _settings_page(network, channel, viewer, form, form_status(form))


def _settings_page(network, channel, viewer, form, status: int = 200, member_error: str | None = None):
    """The channel's settings; for a private group also its members (remove) and a search by name (add)."""
    q = request.args.get("q", "").strip()
    candidates, search_error = [], None
    is_group = channel.kind == ChannelKind.private
    if is_group and q and channel.archived_at is None:
        try:
            candidates = operations.group_candidates(channel, viewer, q)
        except MentorNetError as exc:
            if exc.status != 422:
                raise
            search_error = exc.detail
    return render_template(
        "conversations/settings.html",
        network=network,
        channel=channel,
        form=form,
        confirm_form=ConfirmForm(),
        members=operations.channel_members(channel, viewer) if is_group else [],
        q=q,
        candidates=candidates,
        search_error=search_error,
        member_error=member_error,
        viewer=viewer,
    ), (422 if search_error and status == 200 else status)


@bp.post("/c/<channel_slug>/members")
@login_required
@security.keeps_form(ConfirmForm, hidden=("person_id",))  # the button of one search result
def add_member(slug: str, channel_slug: str):
    """Add a member to a private group (the search on the settings page offers them)."""
    network = _network(slug)
    viewer = current_person()
    channel = operations.get_channel(network, channel_slug, viewer)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        person, added = operations.add_group_member(
            channel, actor=viewer, person_id=request.form.get("person_id")
        )
    except MentorNetError as exc:
        return _member_change_refused(network, channel, viewer, exc)
    if added:
        flash(_("%(name)s is a member of the group now.", name=person.name_or_email), "success")
    else:
        flash(_("%(name)s was a member of the group already.", name=person.name_or_email), "info")
    return redirect(url_for("conversations.settings", slug=slug, channel_slug=channel.slug), 303)


def _member_change_refused(network, channel, viewer, exc: MentorNetError):
    """The settings page again, saying why a member could not be added or removed: for the agreement, with a link
    to it (opens in a new window); a refusal of the person themselves (403, 404) is the error page's."""
    form = ChannelSettingsForm(obj=channel)
    if keep_form_for_agreement(form, exc):
        return _settings_page(network, channel, viewer, form, 403)
    if exc.status in (403, 404):
        raise exc
    return _settings_page(network, channel, viewer, form, exc.status, member_error=exc.detail)


@bp.post("/c/<channel_slug>/members/<int:person_id>/remove")
@login_required
def remove_member(slug: str, channel_slug: str, person_id: int):
    """Remove a member from a private group (whoever manages it; leaving oneself: ``leave``)."""
    network = _network(slug)
    viewer = current_person()
    channel = operations.get_channel(network, channel_slug, viewer)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        operations.remove_group_member(channel, actor=viewer, person_id=person_id)
    except MentorNetError as exc:
        return _member_change_refused(network, channel, viewer, exc)
    if person_id == viewer.id:
        flash(_("You left the group."), "success")
        return redirect(url_for("conversations.index", slug=slug), 303)
    flash(_("The member is removed from the group."), "success")
    return redirect(url_for("conversations.settings", slug=slug, channel_slug=channel.slug), 303)


@bp.route("/c/<channel_slug>/leave", methods=["GET", "POST"])
@login_required
def leave(slug: str, channel_slug: str):
    """Leave a private group one belongs to: a page that asks first, then the button posts here."""
    network = _network(slug)
    viewer = current_person()
    channel = operations.get_channel(network, channel_slug, viewer)
    if channel.kind != ChannelKind.private:
        raise NotFound(_("Only a private group can be left."))
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        archived = operations.remove_group_member(channel, actor=viewer, person_id=viewer.id)
        flash(
            _("You left the group. Nobody was left in it: it is archived.")
            if archived
            else _("You left the group."),
            "success",
        )
        return redirect(url_for("conversations.index", slug=slug), 303)
    return render_template(
        "conversations/leave.html",
        network=network,
        channel=channel,
        confirm_form=form,
        last=len(operations.channel_members(channel, viewer)) == 1,
    )


@bp.post("/c/<channel_slug>/archive")
@login_required
def archive(slug: str, channel_slug: str):
    network = _network(slug)
    viewer = current_person()
    channel = operations.get_channel(network, channel_slug, viewer)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    archived = request.form.get("archived", "1") == "1"
    operations.archive_channel(channel, actor=viewer, archived=archived)
    flash(_("The channel is archived.") if archived else _("The channel is open again."), "success")
    return redirect(url_for("conversations.channel", slug=slug, channel_slug=channel.slug), 303)


def _thread_page(network, viewer, message_id: int, form: MessageForm, status: int = 200):
    root, replies, newer = operations.get_thread(message_id, viewer, after=cursor_arg("after"))
    if root.channel.network_id != network.id:
        raise NotFound(_("There is no such message, or it is not open to you."))
    if status == 200 and newer is None:
        operations.mark_thread_read(root, viewer, upto=replies[-1].id if replies else root.id)
    can_post = permissions.can_post(viewer, root.channel) and root.deleted_at is None
    return render_template(
        "conversations/thread.html",
        network=network,
        channel=root.channel,
        root=root,
        replies=replies,
        newer=newer,
        form=form,
        view=MessageView(viewer, network),
        can_post=can_post,
        blocked_here=can_post and operations.blocks_in_direct(root.channel, viewer),
        confirm_form=ConfirmForm(),
    ), status


@bp.route("/threads/<int:message_id>", methods=["GET", "POST"])
@login_required
@security.keeps_form(MessageForm)
def thread(slug: str, message_id: int):
    network = _network(slug)
    viewer = current_person()
    form = MessageForm()
    if request.method == "POST":
        parent = _message_of(network, message_id, viewer)
        if form.validate_on_submit():
            try:
                reply = operations.post_message(
                    parent.channel, actor=viewer, body=form.body.data, parent=parent
                )
            except MentorNetError as exc:
                _form_errors_as_list(form)
                _apply_error(form, exc, "body")
                status = exc.status if exc.status in (403, 409, 429) else 422
                return _thread_page(network, viewer, message_id, form, status)
            return redirect(operations.thread_url(reply), 303)
        return _thread_page(network, viewer, message_id, form, 422)
    return _thread_page(network, viewer, message_id, form)


@bp.route("/messages/<int:message_id>/edit", methods=["GET", "POST"])
@login_required
@security.keeps_form(MessageForm)
def edit(slug: str, message_id: int):
    network = _network(slug)
    viewer = current_person()
    message = _message_of(network, message_id, viewer)
    if not permissions.can_edit(viewer, message):
        abort(403)
    form = MessageForm(data={"body": message.body} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            operations.edit_message(message, actor=viewer, body=form.body.data)
        except MentorNetError as exc:
            _form_errors_as_list(form)
            _apply_error(form, exc, "body")
        else:
            flash(_("Your message is changed."), "success")
            return redirect(operations.thread_url(message), 303)
    status = form_status(form)
    return render_template("conversations/edit.html", network=network, message=message, form=form), status


@bp.route("/messages/<int:message_id>/delete", methods=["GET", "POST"])
@login_required
def delete(slug: str, message_id: int):
    """The "Delete" link of a message leads here (GET): a page that asks first; its button posts here."""
    network = _network(slug)
    viewer = current_person()
    message = _message_of(network, message_id, viewer)
    form = ConfirmForm()
    if request.method == "GET":
        if not permissions.can_delete(viewer, message):
            abort(403)
        return render_template(
            "conversations/delete.html", network=network, message=message, confirm_form=form
        )
    if not form.validate_on_submit():
        abort(400)
    operations.delete_message(message, actor=viewer)
    flash(_("The message is deleted."), "success")
    return redirect(operations.thread_url(message), 303)


@bp.get("/messages/<int:message_id>/history")
@login_required
def history(slug: str, message_id: int):
    network = _network(slug)
    viewer = current_person()
    message = _message_of(network, message_id, viewer)
    return render_template(
        "conversations/history.html",
        network=network,
        message=message,
        revisions=operations.revisions(message, viewer),
        kept_until=operations.deleted_text_kept_until(message),
    )


@bp.get("/direct")
@login_required
def direct(slug: str):
    network = _network(slug)
    viewer = current_person()
    return render_template(
        "conversations/direct.html",
        network=network,
        rows=operations.list_channels(network, viewer, direct=True),
        can_write=permissions.can_write_directly(viewer, network),
    )


class Picker:
    """What ``conversations/_picker.html`` shows: the people chosen so far, and a page of people to choose from.

    The chosen people travel in the page's address (``to``, repeated; ``add`` one more, ``remove`` one) while
    searching, then in the final form (``members``); both are only ids sent by the browser, so they are checked
    again here (``operations.chosen_people``) and by the operation that creates the conversation."""

    def __init__(self, network: Network, viewer: Person, *, direct: bool, most: int, posted=None):
        if posted is None:
            ids = request.args.getlist("to")
            if request.args.get("add"):
                ids.append(request.args["add"])
            ids = [pid for pid in ids if pid != request.args.get("remove")]
        else:
            ids = [str(pid) for pid in posted]
        self.most = most
        self.chosen, self.dropped = operations.chosen_people(network, viewer, ids, direct=direct, most=most)
        self.q = request.args.get("q", "").strip()[: operations.MAX_NAME_CHARS * 2]
        self.found: list[Person] = []
        self.more_url: str | None = None
        self.error: str | None = None
        if self.full:
            return
        try:
            self.found, more = operations.pick_candidates(
                network,
                viewer,
                self.q,
                direct=direct,
                chosen=[p.id for p in self.chosen],
                after=cursor_arg("after"),
            )
        except MentorNetError as exc:
            if exc.status != 422:
                raise
            self.error = exc.detail
            return
        if more is not None:
            self.more_url = self.url(after=more, _anchor="picker-results")

    @property
    def full(self) -> bool:
        return len(self.chosen) >= self.most

    @property
    def ids(self) -> list[int]:
        return [p.id for p in self.chosen]

    def url(self, **args) -> str:
        """This page's address with the chosen people and the search kept."""
        return url_for(
            request.endpoint,
            **request.view_args,
            to=self.ids,
            **({"q": self.q} if self.q else {}),
            **args,
        )


def _direct_page(network: Network, viewer: Person, form: DirectForm, status: int, posted=None):
    picker = Picker(network, viewer, direct=True, most=operations.MAX_DIRECT_PEOPLE - 1, posted=posted)
    return render_template("conversations/direct_new.html", network=network, form=form, picker=picker), (
        422 if picker.error and status == 200 else status
    )


@bp.route("/direct/new", methods=["GET", "POST"])
@login_required
@security.keeps_form(DirectForm, hidden=("members",))  # chosen with the picker
def new_direct(slug: str):
    """Choose people with a search by name (``Picker``), then write the first message."""
    network = _network(slug)
    viewer = current_person()
    if not permissions.can_write_directly(viewer, network):
        abort(403)
    form = DirectForm()
    if request.method == "GET":
        return _direct_page(network, viewer, form, 200)
    if form.validate_on_submit():
        try:
            channel = operations.open_direct(network, actor=viewer, person_ids=form.members.data or [])
            operations.post_message(channel, actor=viewer, body=form.body.data)
        except MentorNetError as exc:
            _form_errors_as_list(form)
            if exc.status == 403 and exc.field is None and not isinstance(exc, AgreementPending):
                form.members.errors.append(exc.detail)  # someone blocked, either way: said by the list
            else:
                _apply_error(form, exc, "members")
            status = exc.status if exc.status in (403, 429) else 422
            return _direct_page(network, viewer, form, status, posted=form.members.data or [])
        return redirect(url_for("conversations.channel", slug=slug, channel_slug=channel.slug), 303)
    return _direct_page(network, viewer, form, 422, posted=form.members.data or [])


@bp.get("/search")
@login_required
def search(slug: str):
    network = _network(slug)
    viewer = current_person()
    q = request.args.get("q", "")
    results, older, error = [], None, None
    if q.strip():
        try:
            results, older = operations.search(network, viewer, q, before=cursor_arg("before"))
        except MentorNetError as exc:
            if exc.status != 422:
                raise
            error = exc.detail
    elif not permissions.can_read_network_conversations(viewer, network):
        abort(403)
    return render_template(
        "conversations/search.html",
        network=network,
        q=q,
        results=results,
        older=older,
        error=error,
        view=MessageView(viewer, network),
    ), (422 if error else 200)
