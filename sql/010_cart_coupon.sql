-- Issue 11, coupons on the cart: the code a cart applied (page_cart.c),
-- kept as typed by the customer and judged again by coupon.c each time
-- the cart is shown and inside the checkout transaction, so a coupon
-- that staff deactivated or that ran out is never charged silently.
-- NULL: no coupon.  A plain ADD COLUMN: no rebuild.  (The expiry of
-- unpaid orders, cron orders, reads 001's orders_state index.)
ALTER TABLE carts ADD COLUMN coupon_code TEXT CHECK (coupon_code IS NULL OR
    (length(coupon_code) BETWEEN 3 AND 32 AND coupon_code NOT GLOB '*[^A-Za-z0-9_-]*'));

