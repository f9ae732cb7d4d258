/*
 * routes.c: the one route table.  Method, pattern, handler, who may
 * call it, the permission a staff route needs, and the CSRF rule, side
 * by side.  The dispatcher (router.c) enforces the last three before a
 * handler runs (F_HUMAN: the too-fast form check, form_min_seconds); t/ enumerates this table so no route can be forgotten.
 */
#include "config.h"

#include "handlers.h"
#include "route.h"
#include "valid.h"

const struct route routes[] = {
	{ M_GET,  "/",			page_home,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/robots.txt",	page_robots,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/terms",		page_terms,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/healthz",		page_healthz,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/plans",		page_plans,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/plans/{slug}",	page_plan,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },

	{ M_GET,  "/register",		page_register,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/register",		page_register_post, WHO_ANY, NULL, CSRF_CHECK, F_HUMAN, &page_register_form },
	{ M_GET,  "/verify/{token}",	page_verify,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/verify/{token}",	page_verify_post, WHO_ANY, NULL, CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/login",		page_login,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/login",		page_login_post, WHO_ANY, NULL, CSRF_CHECK, F_HUMAN, &page_login_form },
	{ M_POST, "/logout",		page_logout_post, WHO_ANY, NULL, CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/password/forgot",	page_forgot,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/password/forgot",	page_forgot_post, WHO_ANY, NULL, CSRF_CHECK, F_HUMAN, &page_forgot_form },
	{ M_GET,  "/password/reset/{token}", page_reset, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/password/reset/{token}", page_reset_post, WHO_ANY, NULL, CSRF_CHECK, 0, &page_reset_form },

	/* Personal access tokens (page_tokens.c): one implementation, two kinds. */
	{ M_GET,  "/account/tokens",	page_tokens,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/tokens",	page_tokens_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_tokens_form },
	{ M_POST, "/account/tokens/{id:int}/revoke", page_token_revoke_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/admin/tokens",	admin_tokens,	WHO_STAFF, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/tokens",	admin_tokens_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &page_tokens_form },
	{ M_POST, "/admin/tokens/{id:int}/revoke", admin_token_revoke_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &form_none },

	/* The JSON API (api_me.c): Bearer tokens only, no cookies, no CSRF
	 * (not ambient).  perm is the scope the token needs, or
	 * "SCOPE:PERMISSION" for a staff-only call. */
	{ M_GET,  "/api/v1/me",		api_me,		WHO_API, "read", CSRF_NONE, 0, NULL },
	/* The customer's own account (page_account.c, page_totp.c).  Each
	 * POST has a GET of the same pattern: the form shown again when its
	 * CSRF token is refused. */
	{ M_GET,  "/account",		page_account,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/account/profile",	page_account,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/profile",	page_account_profile_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_account_profile_form },
	{ M_GET,  "/account/email",	page_account_email, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/email",	page_account_email_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_account_email_form },
	{ M_GET,  "/account/password",	page_account_password, WHO_CUSTOMER, NULL, CSRF_NONE, F_PWDUE, NULL },
	{ M_POST, "/account/password",	page_account_password_post, WHO_CUSTOMER, NULL, CSRF_CHECK, F_PWDUE, &page_account_password_form },
	{ M_GET,  "/account/sessions",	page_account_sessions, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/account/sessions/{id:int}/revoke", page_account_sessions, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/sessions/{id:int}/revoke", page_account_session_revoke_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_account_session_revoke_form },
	{ M_GET,  "/account/sessions/revoke-others", page_account_sessions, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/sessions/revoke-others", page_account_sessions_revoke_others_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_account_sessions_revoke_others_form },
	{ M_GET,  "/account/delete",	page_account_delete, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/delete",	page_account_delete_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_account_delete_form },
	{ M_GET,  "/account/2fa",	page_account_2fa, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/account/2fa/enable", page_account_2fa, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/2fa/enable", page_account_2fa_enable_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_account_2fa_enable_form },
	{ M_GET,  "/account/2fa/disable", page_account_2fa, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/2fa/disable", page_account_2fa_disable_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_account_2fa_disable_form },
	{ M_GET,  "/login/2fa",		page_login_2fa,	WHO_CUSTOMER, NULL, CSRF_NONE, F_PARTIAL, NULL },
	{ M_POST, "/login/2fa",		page_login_2fa_post, WHO_CUSTOMER, NULL, CSRF_CHECK, F_PARTIAL, &page_login_2fa_form },
	/* Staff, under /admin: the staff cookie.  Sign-in pages are open
	 * (WHO_ANY, pre-session CSRF); F_PARTIAL only where the second
	 * factor is still pending; everything else names its permission. */
	{ M_GET,  "/admin/login",	admin_login, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/login",	admin_login_post, WHO_ANY, NULL, CSRF_CHECK, F_HUMAN, &admin_login_form },
	{ M_GET,  "/admin/invite/{token}", admin_invite, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/invite/{token}", admin_invite_post, WHO_ANY, NULL, CSRF_CHECK, 0, &admin_invite_form },
	{ M_POST, "/admin/logout",	admin_logout_post, WHO_STAFF, NULL, CSRF_CHECK, F_PARTIAL, &form_none },
	{ M_GET,  "/admin/2fa/setup",	admin_2fa_setup, WHO_STAFF, NULL, CSRF_NONE, F_PARTIAL, NULL },
	{ M_POST, "/admin/2fa/setup",	admin_2fa_setup_post, WHO_STAFF, NULL, CSRF_CHECK, F_PARTIAL, &admin_2fa_setup_form },
	{ M_GET,  "/admin/login/2fa",	admin_login_2fa, WHO_STAFF, NULL, CSRF_NONE, F_PARTIAL, NULL },
	{ M_POST, "/admin/login/2fa",	admin_login_2fa_post, WHO_STAFF, NULL, CSRF_CHECK, F_PARTIAL, &admin_login_2fa_form },
	{ M_GET,  "/admin",		admin_home, WHO_STAFF, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/reauth",	admin_reauth, WHO_STAFF, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/reauth",	admin_reauth_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &admin_reauth_form },
	{ M_GET,  "/admin/staff",	admin_staff, WHO_STAFF, "staff.manage", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/staff/invite", admin_staff_invite_post, WHO_STAFF, "staff.manage", CSRF_CHECK, 0, &admin_staff_invite_form },
	{ M_POST, "/admin/staff/{id:int}/disable", admin_staff_disable_post, WHO_STAFF, "staff.manage", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/staff/{id:int}/enable", admin_staff_enable_post, WHO_STAFF, "staff.manage", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/staff/{id:int}/role", admin_staff_role_post, WHO_STAFF, "staff.manage", CSRF_CHECK, 0, &admin_staff_role_form },
	{ M_POST, "/admin/staff/{id:int}/reset-2fa", admin_staff_reset_2fa_post, WHO_STAFF, "security.manage", CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/admin/audit",	admin_audit, WHO_STAFF, "audit.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/security",	admin_security, WHO_STAFF, "security.manage", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/security/unlock", admin_security_unlock_post, WHO_STAFF, "security.manage", CSRF_CHECK, 0, &admin_security_unlock_form },

	/* A staff member's own account and the staff reset by mail
	 * (authflow16, issue 16: admin_account.c).  Ending another session
	 * and changing the password ask for password and code in the form;
	 * the reset page asks for the second factor too. */
	{ M_GET,  "/admin/account",	admin_account, WHO_STAFF, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/account/sessions/{id:int}/end", admin_account_session_end, WHO_STAFF, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/account/sessions/{id:int}/end", admin_account_session_end_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &admin_account_session_end_form },
	{ M_GET,  "/admin/account/password", admin_account_password, WHO_STAFF, NULL, CSRF_NONE, F_PWDUE, NULL },
	{ M_POST, "/admin/account/password", admin_account_password_post, WHO_STAFF, NULL, CSRF_CHECK, F_PWDUE, &admin_account_password_form },
	{ M_GET,  "/admin/password/forgot", admin_forgot, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/password/forgot", admin_forgot_post, WHO_ANY, NULL, CSRF_CHECK, F_HUMAN, &admin_forgot_form },
	{ M_GET,  "/admin/password/reset/{token}", admin_reset, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/password/reset/{token}", admin_reset_post, WHO_ANY, NULL, CSRF_CHECK, 0, &admin_reset_form },

	/* The cart (page_cart.c): anyone; an anonymous visitor's by its own
	 * cookie, CSRF by the pre-session token.  Checkout and orders
	 * (page_checkout.c, page_orders.c): customers. */
	{ M_GET,  "/cart",		page_cart,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/cart/add",		page_cart_add,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/cart/add",		page_cart_add_post, WHO_ANY, NULL, CSRF_CHECK, 0, &page_cart_add_form },
	{ M_GET,  "/cart/update",	page_cart,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/cart/update",	page_cart_update_post, WHO_ANY, NULL, CSRF_CHECK, 0, &page_cart_update_form },
	{ M_GET,  "/cart/remove",	page_cart,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/cart/remove",	page_cart_remove_post, WHO_ANY, NULL, CSRF_CHECK, 0, &page_cart_remove_form },
	{ M_GET,  "/cart/accept",	page_cart,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/cart/accept",	page_cart_accept_post, WHO_ANY, NULL, CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/checkout",		page_checkout,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/checkout",		page_checkout_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_checkout_form },
	{ M_GET,  "/orders",		page_orders,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/orders/{public_id}", page_order,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	/* Renewal (page_orders.c): an item of a paid order into the cart as
	 * a renewal line of that item. */
	{ M_POST, "/orders/{public_id}/renew", page_order_renew_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_order_renew_form },

	/* Gateway payments, the customer's side (issue 13, page_pay.c):
	 * the "redirecting to payment" page, its retry, the return from the
	 * gateway (a cross-site top-level GET: it shows the state and
	 * enqueues the follow-up, nothing else), and the wallet top-up. */
	{ M_GET,  "/pay/{public_id}",	page_pay,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/pay/{public_id}/retry", page_pay_retry_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/pay/return/{gw}/{public_id}", page_pay_return, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/wallet/topup",	page_wallet,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/wallet/topup",	page_wallet_topup_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_wallet_topup_form },

	/* Money pages: the customer's wallet and invoices (page_wallet.c,
	 * page_invoice.c); staff's customers, invoices and settings
	 * (admin_customers.c, page_invoice.c, admin_settings.c). */
	{ M_GET,  "/wallet",		page_wallet, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/invoices/{number}",	page_invoice, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/invoices/{number}", admin_invoice, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/orders",	admin_orders, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/orders/{public_id}", admin_order, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/orders/{public_id}/cancel", admin_order_cancel_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/admin/customers",	admin_customers, WHO_STAFF, "customers.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/customers/{id:int}", admin_customer, WHO_STAFF, "customers.read", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/customers/{id:int}/wallet", admin_customer_wallet_post, WHO_STAFF, "wallet.adjust", CSRF_CHECK, 0, &admin_customer_wallet_form },
	{ M_POST, "/admin/customers/{id:int}/disable", admin_customer_disable_post, WHO_STAFF, "customers.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/customers/{id:int}/enable", admin_customer_enable_post, WHO_STAFF, "customers.write", CSRF_CHECK, 0, &form_none },
	/* The staff's customer page: ending a customer's sessions
	 * (admin_customers.c). */
	{ M_POST, "/admin/customers/{id:int}/sessions/end", admin_customer_session_end_post, WHO_STAFF, "customers.write", CSRF_CHECK, 0, &admin_customer_session_end_form },
	{ M_POST, "/admin/customers/{id:int}/sessions/end-all", admin_customer_sessions_end_post, WHO_STAFF, "customers.write", CSRF_CHECK, 0, &form_none },
	/* auth2x16: a customer's lost second factor reset by staff (ASVS
	 * V2.5.7, mfa_reset.c): security.manage, as for staff. */
	{ M_POST, "/admin/customers/{id:int}/reset-2fa", admin_customer_reset_2fa_post, WHO_STAFF, "security.manage", CSRF_CHECK, 0, &admin_customer_reset_2fa_form },
	{ M_GET,  "/admin/settings",	admin_settings, WHO_STAFF, "settings.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/settings",	admin_settings_post, WHO_STAFF, "settings.write", CSRF_CHECK, 0, &admin_settings_form },

	/* Payment settings (issue 13, settings13: admin_settings_payments.c):
	 * the gateways, their sealed secrets and the payment policies. */
	{ M_GET,  "/admin/settings/payments", admin_settings_payments, WHO_STAFF, "settings.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/settings/payments", admin_settings_payments_post, WHO_STAFF, "settings.write", CSRF_CHECK, 0, &admin_settings_payments_form },

	/* Referrals and the staff's refund to the wallet (issue 11,
	 * referrals: page_referrals.c, admin_orders.c).  The refund also
	 * needs wallet.adjust, checked by its handler (one permission a
	 * route). */
	{ M_GET,  "/r/{code}",		page_referral_visit, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/account/referrals",	page_referrals, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/orders/{public_id}/refund", admin_order_refund_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &admin_order_refund_form },
	/* The orders and wallet API (api_orders.c), and the staff's CSV
	 * exports (admin_export.c): the ledger's needs customers.read, the
	 * permission that shows a customer's ledger on their page. */
	{ M_GET,  "/api/v1/orders",	api_orders,	WHO_API, "read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/api/v1/orders/{public_id}", api_order, WHO_API, "read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/api/v1/wallet",	api_wallet,	WHO_API, "read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/exports/orders.csv", admin_export_orders, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/exports/ledger.csv", admin_export_ledger, WHO_STAFF, "customers.read", CSRF_NONE, 0, NULL },
	/* The catalogue panels: plans (admin_plans.c), server categories
	 * and brands (admin_taxonomy.c), all behind plans.write. */
	{ M_GET,  "/admin/plans",	admin_plans, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/plans",	admin_plans_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_plan_form },
	{ M_GET,  "/admin/plans/new",	admin_plan_new, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/plans/{id:int}", admin_plan, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/plans/{id:int}", admin_plan_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_plan_form },
	{ M_POST, "/admin/plans/{id:int}/activate", admin_plan_activate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/plans/{id:int}/deactivate", admin_plan_deactivate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/plans/{id:int}/move", admin_plan_move_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_catalog_move_form },
	{ M_POST, "/admin/plans/{id:int}/delete", admin_plan_delete_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/admin/categories",	admin_categories, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/categories",	admin_categories_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_taxonomy_form },
	{ M_GET,  "/admin/categories/{id:int}", admin_category, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/categories/{id:int}", admin_category_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_taxonomy_form },
	{ M_POST, "/admin/categories/{id:int}/activate", admin_category_activate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/categories/{id:int}/deactivate", admin_category_deactivate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/categories/{id:int}/move", admin_category_move_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_catalog_move_form },
	{ M_POST, "/admin/categories/{id:int}/delete", admin_category_delete_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/admin/brands",	admin_brands, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/brands",	admin_brands_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_taxonomy_form },
	{ M_GET,  "/admin/brands/{id:int}", admin_brand, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/brands/{id:int}", admin_brand_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_taxonomy_form },
	{ M_POST, "/admin/brands/{id:int}/activate", admin_brand_activate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/brands/{id:int}/deactivate", admin_brand_deactivate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/brands/{id:int}/move", admin_brand_move_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_catalog_move_form },
	{ M_POST, "/admin/brands/{id:int}/delete", admin_brand_delete_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },

	/* Coupons (couponcart): applied on the cart by anyone (page_cart.c,
	 * a GET of each POST shows the cart for a refused token); staff's
	 * list, create, edit, activate, deactivate (admin_coupons.c). */
	{ M_GET,  "/cart/coupon",	page_cart,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/cart/coupon",	page_cart_coupon_post, WHO_ANY, NULL, CSRF_CHECK, 0, &page_cart_coupon_form },
	{ M_GET,  "/cart/coupon/remove", page_cart,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/cart/coupon/remove", page_cart_coupon_remove_post, WHO_ANY, NULL, CSRF_CHECK, 0, &page_cart_coupon_remove_form },
	{ M_GET,  "/admin/coupons",	admin_coupons, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/coupons/new",	admin_coupon_new, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/coupons/new",	admin_coupon_create_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_coupon_form },
	{ M_GET,  "/admin/coupons/{id:int}", admin_coupon_edit, WHO_STAFF, "plans.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/coupons/{id:int}", admin_coupon_edit_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &admin_coupon_form },
	{ M_POST, "/admin/coupons/{id:int}/activate", admin_coupon_activate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/coupons/{id:int}/deactivate", admin_coupon_deactivate_post, WHO_STAFF, "plans.write", CSRF_CHECK, 0, &form_none },

	/* The servers panel (servers12, issue 12): the 3X-UI panels, behind
	 * servers.write (admin_servers.c). */
	{ M_GET,  "/admin/servers",	admin_servers, WHO_STAFF, "servers.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/servers",	admin_servers_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &admin_server_form },
	{ M_GET,  "/admin/servers/new",	admin_server_new, WHO_STAFF, "servers.write", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/servers/{id:int}", admin_server, WHO_STAFF, "servers.write", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/servers/{id:int}", admin_server_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &admin_server_form },
	{ M_POST, "/admin/servers/{id:int}/enable", admin_server_enable_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/servers/{id:int}/disable", admin_server_disable_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/servers/{id:int}/maintenance", admin_server_maintenance_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &form_none },
	/* The panel client's buttons (xuisync12, issue 12): admin_server_sync.c. */
	{ M_POST, "/admin/servers/{id:int}/test", admin_server_test_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/servers/{id:int}/sync", admin_server_sync_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/servers/{id:int}/delete", admin_server_delete_post, WHO_STAFF, "servers.write", CSRF_CHECK, 0, &form_none },

	/* The customer's proxies (svc12, issue 12): page_services.c, the
	 * subscription URL (page_sub.c: the token is the credential, so
	 * anyone holding it; rate-limited there) and the API
	 * (api_services.c). */
	{ M_GET,  "/services",		page_services,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/services/subscription", page_sub_new_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/services/{id:int}",	page_service,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/services/{id:int}/regenerate", page_service_regenerate_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &form_none },
	{ M_POST, "/services/{id:int}/auto-renew", page_service_auto_renew_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_service_auto_renew_form },
	{ M_GET,  "/sub/{token}",	page_sub,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/api/v1/services",	api_services,	WHO_API, "read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/api/v1/services/{id:int}", api_service, WHO_API, "read", CSRF_NONE, 0, NULL },
	/* Running provisioning (admin12, issue 12): /admin/jobs behind
	 * jobs.manage (admin_jobs.c); /admin/clients, read with orders.read
	 * and acted on with orders.write (admin_clients.c); an order's
	 * failed items retried or refunded (admin_order_items.c; the refund
	 * also needs wallet.adjust, checked by its handler). */
	{ M_GET,  "/admin/jobs",	admin_jobs, WHO_STAFF, "jobs.manage", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/jobs/{id:int}/retry", admin_job_retry_post, WHO_STAFF, "jobs.manage", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/jobs/{id:int}/discard", admin_job_discard_post, WHO_STAFF, "jobs.manage", CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/admin/clients",	admin_clients, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/clients/{id:int}", admin_client, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/clients/{id:int}/suspend", admin_client_suspend_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/clients/{id:int}/resume", admin_client_resume_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/clients/{id:int}/reset-traffic", admin_client_reset_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/clients/{id:int}/regenerate", admin_client_regenerate_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/clients/{id:int}/deprovision", admin_client_deprovision_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/orders/{public_id}/items/{id:int}/retry", admin_order_item_retry_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/orders/{public_id}/items/{id:int}/refund", admin_order_item_refund_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	/* Payments and refunds (refund13, issue 13; admin_payments.c): seen
	 * with orders.read; a refund needs refunds.issue, a held payment
	 * fulfilled orders.write, credited to the wallet wallet.adjust; each
	 * POST also a fresh re-authentication (checked by its handler). */
	{ M_GET,  "/admin/payments",	admin_payments, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/payments/{public_id}", admin_payment, WHO_STAFF, "orders.read", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/payments/{public_id}/refund", admin_payment_refund_post, WHO_STAFF, "refunds.issue", CSRF_CHECK, 0, &admin_payment_refund_form },
	{ M_POST, "/admin/payments/{public_id}/release", admin_payment_release_post, WHO_STAFF, "orders.write", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/payments/{public_id}/credit", admin_payment_credit_post, WHO_STAFF, "wallet.adjust", CSRF_CHECK, 0, &form_none },

	/* The staff mail log (mailadmin14, issue 14; admin_mail.c): read
	 * with mail.read, a message retried or discarded with mail.manage
	 * (migration 023). */
	{ M_GET,  "/admin/mail",	admin_mail, WHO_STAFF, "mail.read", CSRF_NONE, 0, NULL },
	{ M_GET,  "/admin/mail/{id:int}", admin_mail_one, WHO_STAFF, "mail.read", CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/mail/{id:int}/retry", admin_mail_retry_post, WHO_STAFF, "mail.manage", CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/mail/{id:int}/discard", admin_mail_discard_post, WHO_STAFF, "mail.manage", CSRF_CHECK, 0, &form_none },

	/* Payment webhooks (stripe13, issue 13; webhook.c): one route for
	 * every gateway, signature-checked by the gateway's verify; no
	 * cookies, no CSRF (WHO_WEBHOOK). */
	{ M_POST, "/webhooks/{slug}",	page_webhook_post, WHO_WEBHOOK, NULL, CSRF_NONE, 0, &webhook_form },

	/* Passkeys (issue 16, passkey16: page_passkey.c).  The options
	 * routes answer JSON for public/js/passkey.js; the others are
	 * forms.  Adding one asks for the password; the sign-in ones are
	 * open (pre-session CSRF), the second factor's F_PARTIAL. */
	{ M_GET,  "/account/passkeys",	page_passkeys,	WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/passkeys",	page_passkeys_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &passkey_add_form },
	{ M_POST, "/account/passkeys/options", page_passkeys_options_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &form_none },
	{ M_POST, "/account/passkeys/{id:int}/rename", page_passkey_rename_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &passkey_rename_form },
	{ M_POST, "/account/passkeys/{id:int}/delete", page_passkey_delete_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &form_none },
	{ M_GET,  "/admin/passkeys",	admin_passkeys, WHO_STAFF, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/admin/passkeys",	admin_passkeys_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &passkey_add_form },
	{ M_POST, "/admin/passkeys/options", admin_passkeys_options_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/passkeys/{id:int}/rename", admin_passkey_rename_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &passkey_rename_form },
	{ M_POST, "/admin/passkeys/{id:int}/delete", admin_passkey_delete_post, WHO_STAFF, NULL, CSRF_CHECK, 0, &form_none },
	{ M_POST, "/login/passkey/options", page_login_passkey_options_post, WHO_ANY, NULL, CSRF_CHECK, 0, &form_none },
	{ M_POST, "/login/passkey",	page_login_passkey_post, WHO_ANY, NULL, CSRF_CHECK, 0, &passkey_use_form },
	{ M_POST, "/admin/login/passkey/options", admin_login_passkey_options_post, WHO_ANY, NULL, CSRF_CHECK, 0, &form_none },
	{ M_POST, "/admin/login/passkey", admin_login_passkey_post, WHO_ANY, NULL, CSRF_CHECK, 0, &passkey_use_form },
	{ M_POST, "/login/2fa/passkey/options", page_login_2fa_passkey_options_post, WHO_CUSTOMER, NULL, CSRF_CHECK, F_PARTIAL, &form_none },
	{ M_POST, "/login/2fa/passkey",	page_login_2fa_passkey_post, WHO_CUSTOMER, NULL, CSRF_CHECK, F_PARTIAL, &passkey_use_form },
	{ M_POST, "/admin/login/2fa/passkey/options", admin_login_2fa_passkey_options_post, WHO_STAFF, NULL, CSRF_CHECK, F_PARTIAL, &form_none },
	{ M_POST, "/admin/login/2fa/passkey", admin_login_2fa_passkey_post, WHO_STAFF, NULL, CSRF_CHECK, F_PARTIAL, &passkey_use_form },
	/* data16 (issue 16): the customer's data as JSON (page_export.c) */
	{ M_GET,  "/account/export",	page_account_export, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/account/export",	page_account_export_post, WHO_CUSTOMER, NULL, CSRF_CHECK, 0, &page_export_form },

	/* Test-only routes: 404 unless test_routes = yes. */
	{ M_GET,  "/_test/sleep",	page_test_sleep, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/_test/crash",	page_test_crash, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_POST, "/_test/echo",	page_test_echo,	WHO_ANY, NULL, CSRF_CHECK, 0, NULL },
	{ M_GET,  "/_test/echo",	page_test_echo,	WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/_test/customer",	page_test_customer, WHO_CUSTOMER, NULL, CSRF_NONE, 0, NULL },
	{ M_GET,  "/_test/db-rollback",	page_test_db_rollback, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	/* A page whose GET needs more than its POST: a refused POST must
	 * not show it to a caller who may not open it (t/64-forgery.t). */
	{ M_GET,  "/_test/guarded",	page_test_guarded, WHO_STAFF, "security.manage", CSRF_NONE, 0, NULL },
	{ M_POST, "/_test/guarded",	page_test_guarded, WHO_STAFF, NULL, CSRF_CHECK, 0, NULL },
	/* Streamed responses (csvstream): their failure paths after the
	 * head, for t/79-api-orders.t; test-only like those above. */
	{ M_GET,  "/_test/stream",	page_test_stream, WHO_ANY, NULL, CSRF_NONE, 0, NULL },
	/* requests16: an API call with a declared JSON body (page_test.c),
	 * for t/28-requests.t; test-only like those above. */
	{ M_POST, "/api/v1/_test/echo", page_test_api_echo, WHO_API, "read", CSRF_NONE, 0, &test_api_echo_shape },
};

const size_t nroutes = sizeof(routes) / sizeof(routes[0]);
