/*
 * qr.c: render a string as a QR code in SVG with libqrencode.
 *
 * The SVG is one <path> made of a rectangle per horizontal run of dark
 * modules ("M x yhNv1h-Nz"): a typical TOTP URI (about 160 bytes,
 * version 8) comes to about 9 KB of SVG, 12 KB as a data: URI.
 * shape-rendering="crispEdges" so that scaling never anti-aliases
 * module edges into grey that a camera misreads.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <qrencode.h>

#include "qr.h"
#include "util.h"

/* Encode text; NULL when it cannot be.  Allocates (QRcode_free). */
static QRcode *
qr_encode(const char *text)
{
	if (text == NULL || *text == '\0')
		return NULL;
	/*
	 * QR_MODE_8 is the hint that text is not Shift-JIS; libqrencode
	 * still picks numeric/alphanumeric segments where they are shorter.
	 * Case-sensitive, version chosen to fit.
	 */
	return QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
}

/* Write the SVG of q to b.  Grows b. */
static void
qr_svg_write(struct buf *b, const QRcode *q)
{
	int	 w = q->width, total = q->width + 2 * QR_QUIET, x, y, run;

	buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "shape-rendering=\"crispEdges\">"
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"",
	    total, total, total * QR_PX, total * QR_PX, total, total);
	for (y = 0; y < w; y++) {
		for (x = 0; x < w; x += run) {
			/* Bit 0 of each module byte is "dark"; the rest is libqrencode's bookkeeping. */
			for (run = 0; x + run < w && (q->data[y * w + x + run] & 1); run++)
				;
			if (run == 0) {
				run = 1;
				continue;
			}
			buf_printf(b, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, run, run);
		}
	}
	buf_puts(b, "\"/></svg>\n");
}

/* The SVG of text into b (see qr.h).  Grows b. */
int
qr_svg(struct buf *b, const char *text)
{
	QRcode	*q;

	if ((q = qr_encode(text)) == NULL)
		return -1;
	qr_svg_write(b, q);
	QRcode_free(q);
	return 0;
}

/* The SVG of text as a data: URI into b (see qr.h).  Grows b; allocates scratch. */
int
qr_svg_data_uri(struct buf *b, const char *text)
{
	struct buf	 svg;
	unsigned char	*enc;
	size_t		 enclen;
	int		 n;

	buf_init(&svg);
	if (qr_svg(&svg, text) != 0) {
		buf_free(&svg);
		return -1;
	}
	/* EVP_EncodeBlock writes 4 bytes per 3 (rounded up) and a NUL, no newlines. */
	enclen = 4 * ((svg.len + 2) / 3) + 1;
	enc = xmalloc(enclen);
	n = EVP_EncodeBlock(enc, (const unsigned char *)svg.p, (int)svg.len);
	buf_puts(b, "data:image/svg+xml;base64,");
	buf_add(b, enc, (size_t)n);
	free(enc);
	buf_free(&svg);
	return 0;
}
