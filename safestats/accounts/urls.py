from django.urls import path

from safestats.accounts import console, platform, views

app_name = "accounts"

urlpatterns = [
    path("register", views.register, name="register"),
    path("sign-in", views.sign_in, name="sign_in"),
    path("sign-in/security-code", views.mfa_challenge, name="mfa_challenge"),
    path("sign-in/set-up-authenticator", views.mfa_setup, name="mfa_setup"),
    path("sign-in/recovery-codes", views.recovery_codes, name="recovery_codes"),
    path("conditions-of-use", views.conditions, name="conditions"),
    path("sign-out", views.sign_out, name="sign_out"),
    path("signed-out", views.signed_out, name="signed_out"),
    path("account", views.your_account, name="your_account"),
    path("account/sign-out-everywhere", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("account/recovery-codes", views.new_recovery_codes, name="new_recovery_codes"),
    path("organisation", console.console, name="console"),
    path("organisation/invite", console.invite, name="invite"),
    path(
        "organisation/members/<int:user_id>/<slug:action>",
        console.act,
        name="member_action",
    ),
    path(
        "organisation/members/<int:user_id>/<slug:action>/reason",
        console.with_reason,
        name="member_reason",
    ),
    path("platform/users", platform.user_list, name="platform_users"),
    path("platform/users/<int:user_id>", platform.user, name="platform_user"),
    path("platform/users/<int:user_id>/role", platform.change_role, name="platform_role"),
    path(
        "platform/users/<int:user_id>/<slug:action>",
        platform.act,
        name="platform_user_action",
    ),
    path(
        "platform/users/<int:user_id>/<slug:action>/reason",
        platform.with_reason,
        name="platform_user_reason",
    ),
    path("platform/conditions", platform.conditions, name="platform_conditions"),
    path(
        "platform/conditions/new", platform.publish_conditions, name="platform_publish_conditions"
    ),
    path("password-reset", views.password_reset, name="password_reset"),
    path("password-reset/sent", views.password_reset_sent, name="password_reset_sent"),
    path(
        "password-reset/<uidb64>/<token>",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("password-reset/complete", views.password_reset_complete, name="password_reset_complete"),
]
