/*
 * SUPERSEDED: the contract is now libavutil/codec_info.h from
 * ffmpeg_patches/0001-avutil-codec_info-*.patch, installed as
 * build/ffmpeg-install/include/libavutil/codec_info.h
 * (also build/ffmpeg-src/libavutil/codec_info.h).
 *
 * Changes from this draft: added flags (AV_CODEC_INFO_FLAG_*), crop_left,
 * crop_top and bit_depth after qp; every array offset is a multiple of 64;
 * av_codec_info_array() helper.
 */
#include <libavutil/codec_info.h>
