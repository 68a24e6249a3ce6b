# cmake/Packaging.cmake: `cmake --install` and the Debian package (`make deb`).
#
# What is installed is what configs/sockswitch.service runs: the daemon in
# the prefix's bin/, the unit in lib/systemd/system/ with its ExecStart=
# pointing there (the shipped unit says /usr/local/bin, a source install's
# prefix; the package's is /usr), and the README and the seed deployments'
# configs as documentation and examples. Nothing goes to /etc: a deployment
# copies its config there (README, "Installing").
include(GNUInstallDirs)

install(TARGETS sockswitch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The prefix is only known at install time (cpack installs into /usr), so
# the unit is written then.
set(SOCKSWITCH_UNIT_OUT ${CMAKE_BINARY_DIR}/installed/sockswitch.service)
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/configs/sockswitch.service\" unit)
  string(REPLACE \"/usr/local/bin/sockswitch\"
                 \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/sockswitch\" unit \"\${unit}\")
  file(WRITE \"${SOCKSWITCH_UNIT_OUT}\" \"\${unit}\")
")
install(FILES ${SOCKSWITCH_UNIT_OUT} DESTINATION lib/systemd/system)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB SOCKSWITCH_EXAMPLES ${PROJECT_SOURCE_DIR}/configs/*.toml
     ${PROJECT_SOURCE_DIR}/configs/*.flows)
install(FILES ${SOCKSWITCH_EXAMPLES} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sockswitch)
set(CPACK_PACKAGE_VENDOR "sockswitch developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "userspace OpenFlow switch in place of Open vSwitch")
set(CPACK_PACKAGE_DESCRIPTION
    "A polling AF_XDP/DPDK software switch with an ovs-ofctl flow table, veth, tap, tun and native WireGuard ports, that Open vSwitch's own tools (ovs-vsctl, ovs-ofctl) drive unchanged.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The daemon without its debug sections (build/ keeps them, for gdb and perf).
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "sockswitch developers <sockswitch@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# The shared libraries the binary links (libxdp, libbpf, DPDK, ...), found
# by dpkg-shlibdeps; the tools around it are suggestions.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "openvswitch-switch, openvswitch-common, wireguard-tools")
include(CPack)
