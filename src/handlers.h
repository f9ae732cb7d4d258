/*
 * handlers.h: every route handler, by the file that serves it.
 */
#ifndef PX_HANDLERS_H
#define PX_HANDLERS_H

#include <stdint.h>

struct request;

/* page_home.c */
void	page_home(struct request *);
void	page_robots(struct request *);
void	page_terms(struct request *);
/* page_catalog.c */
void	page_plans(struct request *);
void	page_plan(struct request *);
/* page_cart.c, page_checkout.c, page_orders.c */
void	page_cart(struct request *);
void	page_cart_add(struct request *);
void	page_cart_add_post(struct request *);
void	page_cart_update_post(struct request *);
void	page_cart_remove_post(struct request *);
void	page_cart_accept_post(struct request *);
void	page_checkout(struct request *);
void	page_checkout_post(struct request *);
void	page_orders(struct request *);
void	page_order(struct request *);
void	page_order_renew_post(struct request *);
extern const struct form page_order_renew_form;
extern const struct form page_cart_add_form;
extern const struct form page_cart_update_form;
extern const struct form page_cart_remove_form;
extern const struct form page_checkout_form;
/* page_health.c */
void	page_healthz(struct request *);
/* page_auth.c */
void	page_register(struct request *);
void	page_register_post(struct request *);
void	page_verify(struct request *);
void	page_verify_post(struct request *);
void	page_login(struct request *);
void	page_login_post(struct request *);
void	page_logout_post(struct request *);
void	page_forgot(struct request *);
void	page_forgot_post(struct request *);
void	page_reset(struct request *);
void	page_reset_post(struct request *);
/* page_tokens.c: personal access tokens, customers and staff */
void	page_tokens(struct request *);
void	page_tokens_post(struct request *);
void	page_token_revoke_post(struct request *);
void	admin_tokens(struct request *);
void	admin_tokens_post(struct request *);
void	admin_token_revoke_post(struct request *);
/* api_me.c: the JSON API */
void	api_me(struct request *);
/* page_account.c */
void	page_account(struct request *);
void	page_account_profile_post(struct request *);
void	page_account_email(struct request *);
void	page_account_email_post(struct request *);
void	page_account_password(struct request *);
void	page_account_password_post(struct request *);
void	page_account_sessions(struct request *);
void	page_account_session_revoke_post(struct request *);
void	page_account_sessions_revoke_others_post(struct request *);
void	page_account_delete(struct request *);
void	page_account_delete_post(struct request *);
/* page_export.c: the customer's data as JSON (data16, issue 16) */
void	page_account_export(struct request *);
void	page_account_export_post(struct request *);
/* page_totp.c */
void	page_account_2fa(struct request *);
void	page_account_2fa_enable_post(struct request *);
void	page_account_2fa_disable_post(struct request *);
void	page_login_2fa(struct request *);
void	page_login_2fa_post(struct request *);
/* admin.c */
void	admin_home(struct request *);
/* admin_auth.c */
void	admin_login(struct request *);
void	admin_login_post(struct request *);
void	admin_logout_post(struct request *);
void	admin_2fa_setup(struct request *);
void	admin_2fa_setup_post(struct request *);
void	admin_login_2fa(struct request *);
void	admin_login_2fa_post(struct request *);
void	admin_reauth(struct request *);
void	admin_reauth_post(struct request *);
/* admin_staff.c */
void	admin_staff(struct request *);
void	admin_staff_invite_post(struct request *);
void	admin_staff_disable_post(struct request *);
void	admin_staff_enable_post(struct request *);
void	admin_staff_role_post(struct request *);
void	admin_staff_reset_2fa_post(struct request *);
void	admin_invite(struct request *);
void	admin_invite_post(struct request *);
/* admin_audit.c */
void	admin_audit(struct request *);
/* admin_security.c */
void	admin_security(struct request *);
void	admin_security_unlock_post(struct request *);
/* page_wallet.c */
void	page_wallet(struct request *);
/* page_invoice.c */
void	page_invoice(struct request *);
void	admin_invoice(struct request *);
/* admin_orders.c */
void	admin_orders(struct request *);
void	admin_order(struct request *);
void	admin_order_cancel_post(struct request *);

/* admin_customers.c */
void	admin_customers(struct request *);
void	admin_customer(struct request *);
void	admin_customer_wallet_post(struct request *);
void	admin_customer_disable_post(struct request *);
void	admin_customer_enable_post(struct request *);
void	admin_customer_session_end_post(struct request *);
void	admin_customer_sessions_end_post(struct request *);
void	admin_customer_reset_2fa_post(struct request *);
/* api_orders.c: the orders and wallet API */
void	api_orders(struct request *);
void	api_order(struct request *);
void	api_wallet(struct request *);
/* admin_export.c: CSV exports */
void	admin_export_orders(struct request *);
void	admin_export_ledger(struct request *);
/* admin_settings.c */
void	admin_settings(struct request *);
void	admin_settings_post(struct request *);
/* admin_settings_payments.c */
void	admin_settings_payments(struct request *);
void	admin_settings_payments_post(struct request *);
/* page_referrals.c, and the staff's refund in admin_orders.c (issue 11, referrals) */
void	page_referral_visit(struct request *);
void	page_referrals(struct request *);
void	admin_order_refund_post(struct request *);
extern const struct form admin_order_refund_form;
/* admin_plans.c, admin_taxonomy.c (shared: admin_catalog.c) */
void	admin_plans(struct request *);
void	admin_plans_post(struct request *);
void	admin_plan_new(struct request *);
void	admin_plan(struct request *);
void	admin_plan_post(struct request *);
void	admin_plan_activate_post(struct request *);
void	admin_plan_deactivate_post(struct request *);
void	admin_plan_move_post(struct request *);
void	admin_plan_delete_post(struct request *);
void	admin_categories(struct request *);
void	admin_categories_post(struct request *);
void	admin_category(struct request *);
void	admin_category_post(struct request *);
void	admin_category_activate_post(struct request *);
void	admin_category_deactivate_post(struct request *);
void	admin_category_move_post(struct request *);
void	admin_category_delete_post(struct request *);
void	admin_brands(struct request *);
void	admin_brands_post(struct request *);
void	admin_brand(struct request *);
void	admin_brand_post(struct request *);
void	admin_brand_activate_post(struct request *);
void	admin_brand_deactivate_post(struct request *);
void	admin_brand_move_post(struct request *);
void	admin_brand_delete_post(struct request *);
/* page_test.c (only with test_routes = yes) */
void	page_test_sleep(struct request *);
void	page_test_guarded(struct request *);
void	page_test_echo(struct request *);
void	page_test_crash(struct request *);
void	page_test_customer(struct request *);
void	page_test_db_rollback(struct request *);
void	page_test_stream(struct request *);
void	page_test_api_echo(struct request *);
extern const struct form test_api_echo_shape;

/* The declared fields of the POST forms (valid.h), by handler. */
struct form;
extern const struct form admin_2fa_setup_form;
extern const struct form admin_catalog_move_form;
extern const struct form admin_customer_wallet_form;
extern const struct form admin_customer_session_end_form;
extern const struct form admin_customer_reset_2fa_form;
extern const struct form admin_invite_form;
extern const struct form admin_login_2fa_form;
extern const struct form admin_login_form;
extern const struct form admin_plan_form;
extern const struct form admin_reauth_form;
extern const struct form admin_security_unlock_form;
extern const struct form admin_settings_form;
extern const struct form admin_settings_payments_form;
extern const struct form admin_staff_invite_form;
extern const struct form admin_staff_role_form;
extern const struct form admin_taxonomy_form;
extern const struct form page_account_2fa_disable_form;
extern const struct form page_account_2fa_enable_form;
extern const struct form page_account_delete_form;
extern const struct form page_export_form;
extern const struct form page_account_email_form;
extern const struct form page_account_password_form;
extern const struct form page_account_profile_form;
extern const struct form page_forgot_form;
extern const struct form page_login_2fa_form;
extern const struct form page_login_form;
extern const struct form page_register_form;
extern const struct form page_reset_form;
extern const struct form page_tokens_form;

/* Coupons on the cart (page_cart.c) and staff's coupons
 * (admin_coupons.c). */
void	page_cart_coupon_post(struct request *);
void	page_cart_coupon_remove_post(struct request *);
extern const struct form page_cart_coupon_form;
extern const struct form page_cart_coupon_remove_form;
void	admin_coupons(struct request *);
void	admin_coupon_new(struct request *);
void	admin_coupon_create_post(struct request *);
void	admin_coupon_edit(struct request *);
void	admin_coupon_edit_post(struct request *);
void	admin_coupon_activate_post(struct request *);
void	admin_coupon_deactivate_post(struct request *);
extern const struct form admin_coupon_form;

/* admin_servers.c (issue 12, servers12) */
void	admin_servers(struct request *);
void	admin_servers_post(struct request *);
void	admin_server_new(struct request *);
void	admin_server(struct request *);
void	admin_server_post(struct request *);
void	admin_server_enable_post(struct request *);
void	admin_server_disable_post(struct request *);
void	admin_server_maintenance_post(struct request *);
void	admin_server_delete_post(struct request *);
extern const struct form admin_server_form;

/* admin_server_sync.c (issue 12, xuisync12): Test connection, Sync
 * inbounds, and what a server's page shows of them. */
struct vm;
void	admin_server_test_post(struct request *);
void	admin_server_sync_post(struct request *);
void	admin_server_panel_vm(struct request *, struct vm *, int64_t server_id);

/* The customer's proxies (issue 12, svc12): page_services.c,
 * page_sub.c, api_services.c. */
void	page_services(struct request *);
void	page_service(struct request *);
void	page_service_regenerate_post(struct request *);
void	page_service_auto_renew_post(struct request *);
extern const struct form page_service_auto_renew_form;
void	page_sub_new_post(struct request *);
void	page_sub(struct request *);
void	api_services(struct request *);
void	api_service(struct request *);
/* admin_jobs.c, admin_clients.c, admin_order_items.c (issue 12, admin12) */
void	admin_jobs(struct request *);
void	admin_job_retry_post(struct request *);
void	admin_job_discard_post(struct request *);
void	admin_clients(struct request *);
void	admin_client(struct request *);
void	admin_client_suspend_post(struct request *);
void	admin_client_resume_post(struct request *);
void	admin_client_reset_post(struct request *);
void	admin_client_regenerate_post(struct request *);
void	admin_client_deprovision_post(struct request *);
void	admin_order_item_retry_post(struct request *);
void	admin_order_item_refund_post(struct request *);
struct vm;
void	admin_order_failed_items_vm(struct request *, struct vm *, int64_t order_id);

/* page_pay.c (issue 13): /pay pages and the wallet top-up */
void	page_pay(struct request *);
void	page_pay_retry_post(struct request *);
void	page_pay_return(struct request *);
void	page_wallet_topup_post(struct request *);
extern const struct form page_wallet_topup_form;
/* webhook.c: the gateways' deliveries (issue 13) */
void	page_webhook_post(struct request *);
extern const struct form webhook_form;
/* admin_payments.c (issue 13, refunds): /admin/payments, a payment's
 * page, its refund, a held payment resolved; the order page's payments
 * with their refund forms. */
void	admin_payments(struct request *);
void	admin_payment(struct request *);
void	admin_payment_refund_post(struct request *);
extern const struct form admin_payment_refund_form;
void	admin_payment_release_post(struct request *);
void	admin_payment_credit_post(struct request *);
void	admin_order_payments_vm(struct request *, struct vm *, int64_t order_id);
/* admin_mail.c (issue 14, mailadmin14) */
void	admin_mail(struct request *);
void	admin_mail_one(struct request *);
void	admin_mail_retry_post(struct request *);
void	admin_mail_discard_post(struct request *);

/* admin_account.c (issue 16, authflow16) */
void	admin_account(struct request *);
void	admin_account_session_end(struct request *);
void	admin_account_session_end_post(struct request *);
extern const struct form admin_account_session_end_form;
void	admin_account_password(struct request *);
void	admin_account_password_post(struct request *);
extern const struct form admin_account_password_form;
void	admin_forgot(struct request *);
void	admin_forgot_post(struct request *);
extern const struct form admin_forgot_form;
void	admin_reset(struct request *);
void	admin_reset_post(struct request *);
extern const struct form admin_reset_form;
extern const struct form page_account_session_revoke_form;
extern const struct form page_account_sessions_revoke_others_form;
/* page_passkey.c: passkeys, customers and staff (issue 16, passkey16) */
void	page_passkeys(struct request *);
void	page_passkeys_options_post(struct request *);
void	page_passkeys_post(struct request *);
void	page_passkey_rename_post(struct request *);
void	page_passkey_delete_post(struct request *);
void	admin_passkeys(struct request *);
void	admin_passkeys_options_post(struct request *);
void	admin_passkeys_post(struct request *);
void	admin_passkey_rename_post(struct request *);
void	admin_passkey_delete_post(struct request *);
void	page_login_passkey_options_post(struct request *);
void	admin_login_passkey_options_post(struct request *);
void	page_login_passkey_post(struct request *);
void	admin_login_passkey_post(struct request *);
void	page_login_2fa_passkey_options_post(struct request *);
void	admin_login_2fa_passkey_options_post(struct request *);
void	page_login_2fa_passkey_post(struct request *);
void	admin_login_2fa_passkey_post(struct request *);
extern const struct form passkey_add_form;
extern const struct form passkey_rename_form;
extern const struct form passkey_use_form;

#endif
