# Fetch, patch, configure and build the project's minimal FFmpeg 7.1.
#
# Layout under the build tree:
#   ffmpeg-upstream/  pristine source (Debian trixie orig tarball), or FFMPEG_SOURCE_DIR
#   ffmpeg-src/       git work tree: upstream + ffmpeg_patches/series (git am)
#   ffmpeg-build/     out-of-tree object files
#   ffmpeg-install/   static libraries, headers, ffmpeg and ffprobe
# Each step is cheap when nothing changed: the patch step compares a hash of the
# series, configure re-runs only when its flags or the configure script change,
# and make is incremental.

set(FFMPEG_SOURCE_DIR "" CACHE PATH "pristine FFmpeg 7.1 source tree (default: fetch Debian trixie's source package)")
if(FFMPEG_SOURCE_DIR)
  set(FFMPEG_UPSTREAM_DIR "${FFMPEG_SOURCE_DIR}")
else()
  set(FFMPEG_UPSTREAM_DIR "${CMAKE_BINARY_DIR}/ffmpeg-upstream")
endif()
set(FFMPEG_SRC_DIR "${CMAKE_BINARY_DIR}/ffmpeg-src")
set(FFMPEG_BUILD_DIR "${CMAKE_BINARY_DIR}/ffmpeg-build")
set(FFMPEG_INSTALL_DIR "${CMAKE_BINARY_DIR}/ffmpeg-install")
set(FFMPEG_PATCH_DIR "${PROJECT_SOURCE_DIR}/ffmpeg_patches")

# Everything the project, its tests and its users need, and nothing else.
set(FFMPEG_CONFIGURE_FLAGS
  --prefix=${FFMPEG_INSTALL_DIR}
  --disable-everything --disable-autodetect --disable-doc --disable-ffplay
  --enable-gpl --enable-libx264 --enable-zlib --enable-pic
  # HEVC encodes for tests and training data (Debian libx265-dev)
  --enable-libx265
  # SRT ingest (srt://, Debian libsrt-openssl-dev) for live streams
  --enable-libsrt
  --enable-static --disable-shared
  --enable-ffmpeg --enable-ffprobe --enable-swscale --enable-swresample
  --enable-decoder=h264,hevc,rawvideo,ffv1,wrapped_avframe,aac,mpeg1video,mpeg2video,mpeg4,png,pcm_s16le
  --enable-encoder=libx264,libx265,rawvideo,ffv1,wrapped_avframe,aac,png,pcm_s16le
  --enable-parser=h264,hevc,aac,mpegvideo,mpeg4video,png
  --enable-demuxer=mov,matroska,mpegts,flv,h264,hevc,nut,rawvideo,image2,aac,mpegps,mpegvideo,avi,m4v,wav,concat
  --enable-muxer=mp4,mov,matroska,mpegts,flv,h264,hevc,nut,rawvideo,image2,null,adts,wav,framemd5,md5,segment
  --enable-protocol=file,pipe,tcp,udp,rtmp,libsrt
  --enable-bsf=h264_mp4toannexb,hevc_mp4toannexb,aac_adtstoasc,h264_metadata,hevc_metadata
  --enable-indev=lavfi
  --enable-filter=testsrc2,sine,anullsrc,scale,format,null,anull,codecview,split,asplit,aresample,aformat,setpts,asetpts,trim,atrim,crop,pad,hstack,vstack,fps,showinfo,copy,cvsr
  # vf_cvsr and the bridge that embeds the Python host (native/bridge)
  --enable-libcvsr-bridge
  --extra-cflags=-I${CVSR_BRIDGE_INCLUDE_DIR}
  --extra-ldflags=-L${CVSR_BRIDGE_LIBRARY_DIR}
  "--extra-libs=${CVSR_BRIDGE_LIBS}"
  ${CVSR_FFMPEG_EXTRA_FLAGS}
)
# Handed to the build script in a file: a list does not survive a command line.
string(REPLACE ";" "\n" _ffmpeg_flags_lines "${FFMPEG_CONFIGURE_FLAGS}")
file(WRITE "${CMAKE_BINARY_DIR}/ffmpeg-configure-flags.txt" "${_ffmpeg_flags_lines}\n")

include(ProcessorCount)
ProcessorCount(_nproc)
if(_nproc EQUAL 0)
  set(_nproc 2)
endif()

add_custom_target(ffmpeg ALL
  COMMAND ${CMAKE_COMMAND}
    -DUPSTREAM=${FFMPEG_UPSTREAM_DIR} -DFETCH=$<IF:$<BOOL:${FFMPEG_SOURCE_DIR}>,0,1>
    -DSRC=${FFMPEG_SRC_DIR} -DBUILD=${FFMPEG_BUILD_DIR} -DPATCHES=${FFMPEG_PATCH_DIR}
    -DSCRIPTS=${PROJECT_SOURCE_DIR}/scripts
    -DFLAGS_FILE=${CMAKE_BINARY_DIR}/ffmpeg-configure-flags.txt -DJOBS=${_nproc}
    -DRELINK_IF_NEWER=$<TARGET_FILE:cvsr_bridge>
    -P ${PROJECT_SOURCE_DIR}/cmake/BuildFFmpeg.cmake
  USES_TERMINAL
  COMMENT "FFmpeg: fetch, patch, configure, make, install")
add_dependencies(ffmpeg cvsr_bridge)
