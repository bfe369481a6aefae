/* SPDX-License-Identifier: Apache-2.0 */
/* web_assets.h - the web UI's files (web/) as the build embeds them:
 * cmake/embed_web.cmake writes generated/web_assets.c with one entry per
 * file, so the node serves the UI without reading anything at run time. */
#ifndef AIRLOCK_WEB_ASSETS_H
#define AIRLOCK_WEB_ASSETS_H

#include <stddef.h>

typedef struct al_web_asset {
  const char *name;         /* file name under web/, e.g. "app.js" */
  const char *content_type; /* chosen from the extension at build time */
  const unsigned char *data;
  size_t len;
} al_web_asset;

extern const al_web_asset al_web_assets[];
extern const size_t al_web_assets_count;

#endif
