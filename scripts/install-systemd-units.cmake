# Run by cmake --install (CMakeLists.txt): the systemd units of
# examples/systemd/*.in with the install prefix filled in (@EXAMPLES@, the
# installed examples; @BINDIR@, the tools), into PREFIX/lib/systemd/system,
# which systemd searches for /usr/local. Never enabled: the admin writes
# /etc/hci-backup/NAME.conf first and enables hci-backup@NAME.timer.
set(EXAMPLES "${CMAKE_INSTALL_PREFIX}/share/doc/hci-backup/examples")
set(BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(unit_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
file(GLOB templates "${HCI_SOURCE_DIR}/examples/systemd/*.in")
foreach(template ${templates})
  get_filename_component(name "${template}" NAME)
  string(REGEX REPLACE "\\.in$" "" name "${name}")
  message(STATUS "Installing: ${unit_dir}/${name}")
  configure_file("${template}" "${unit_dir}/${name}" @ONLY)
  file(CHMOD "${unit_dir}/${name}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endforeach()
