/*
 * qr.h: QR codes as compact SVG, for the TOTP enrolment page (the
 * otpauth:// URI is shown as an <img src="data:..."> so that no
 * request ever carries the secret in a URL, and the CSP's
 * img-src 'self' data: allows it).
 */
#ifndef PX_QR_H
#define PX_QR_H

struct buf;

#define QR_QUIET	4	/* modules of white border (ISO/IEC 18004) */
#define QR_PX		5	/* intrinsic size of one module, in CSS px */

/*
 * Append an SVG document of text as a QR code (ECC level M, byte mode)
 * to b: a white background rect and one <path> of the dark modules,
 * viewBox in modules with a 4-module quiet zone.  Returns 0, or -1 when
 * the text does not fit in a QR code (b is then unchanged).  Grows b.
 */
int	qr_svg(struct buf *b, const char *text);
/*
 * Append the same SVG as a "data:image/svg+xml;base64,..." URI to b,
 * for an <img src>.  Returns 0 or -1 as qr_svg().  Grows b; allocates
 * and frees its scratch space.
 */
int	qr_svg_data_uri(struct buf *b, const char *text);

#endif
