# The Debian packages, by CMake's CPack (DEB generator), from the install
# rules' two components:
#   futured      futured, futured-worker, futurectl, the systemd unit, the
#                /etc/default/futured conffile, man pages
#   futured-dev  (component dev) the client library, headers, the plugin
#                SDK, the CMake package and futured.pc
# Built by `bash packaging/build-deb.sh` (configure with the /usr prefix and
# FUTURED_SYSTEMD_UNIT_DIR=/lib/systemd/system, then cpack).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME futured)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${FUTURED_DEB_MAINTAINER}")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CMake 3.25's CPackDeb would put that
# one line before every component's description (the synopsis twice in
# futured, futured's synopsis in futured-dev). Each component description's
# first line is its package's synopsis; the lines after it, unindented, the
# extended description.
# DESTDIR staging with CMAKE_INSTALL_PREFIX=/usr, so that the unit written
# at install time (packaging/InstallUnit.cmake) names /usr/bin/futured.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL futured dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # futured_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps computes Depends from the binaries' libraries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_FUTURED_PACKAGE_NAME futured)
set(CPACK_COMPONENT_FUTURED_DESCRIPTION
  "Python's concurrent.futures as a gRPC daemon
futured runs named tasks submitted over gRPC on a thread pool or a pool of
worker processes and hands back futures to wait on, cancel or stream as
they complete; futurectl calls it from the shell. The systemd unit is
enabled and started on installation, serving on 127.0.0.1:50051; settings
go in /etc/default/futured.")
set(CPACK_DEBIAN_FUTURED_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles
  ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
  ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
  ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME futured-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "client library and plugin SDK of futured
The static C++ client library of futured (futured::client; CMake package
and pkg-config file futured), its headers, and the header-only SDK for
task plugins.")
# A static library: what linking it needs, not what dpkg-shlibdeps finds.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libgrpc++-dev, libprotobuf-dev, libabsl-dev")

include(CPack)
