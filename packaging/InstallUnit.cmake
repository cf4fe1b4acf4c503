# Run by `cmake --install` (install(CODE) in packaging/CMakeLists.txt), so
# that the paths the unit names follow the prefix the files are installed
# under: the configured CMAKE_INSTALL_PREFIX, `cmake --install --prefix`,
# or CPack's /usr. DESTDIR staging prefixes the files, never these paths.
# In: FUTURED_UNIT_TEMPLATE, FUTURED_DEFAULTS_FILE, FUTURED_UNIT_BUILD_DIR,
# FUTURED_BINDIR_REL, FUTURED_SYSCONFDIR_REL, FUTURED_SYSTEMD_UNIT_DIR.

# As GNUInstallDirs makes CMAKE_INSTALL_FULL_*, for the prefix used now.
function(futured_full_dir relative out)
  if(IS_ABSOLUTE "${relative}")
    set(${out} "${relative}" PARENT_SCOPE)
  elseif(relative STREQUAL "etc" AND CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
    set(${out} "/etc" PARENT_SCOPE)  # /usr's configuration lives in /etc
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${relative}" PARENT_SCOPE)
  endif()
endfunction()

futured_full_dir("${FUTURED_BINDIR_REL}" FUTURED_BINDIR)
futured_full_dir("${FUTURED_SYSCONFDIR_REL}" sysconfdir)
futured_full_dir("${FUTURED_SYSTEMD_UNIT_DIR}" unit_dir)
set(FUTURED_ENVIRONMENT_FILE "${sysconfdir}/default/futured")

# One configured unit per prefix and DESTDIR: installs of one build tree to
# different prefixes may run at once (ctest runs the staging test, cpack's
# and the client install's in parallel).
string(MD5 install_key "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
set(unit_file "${FUTURED_UNIT_BUILD_DIR}/${install_key}/futured.service")
configure_file("${FUTURED_UNIT_TEMPLATE}" "${unit_file}" @ONLY)
file(INSTALL "${unit_file}" DESTINATION "${unit_dir}")
file(INSTALL "${FUTURED_DEFAULTS_FILE}" DESTINATION "${sysconfdir}/default")
