# Debian packages built by CPack, one per install component:
#
#   component  package          contents
#   device     fieldlog         fieldlogd, fieldlog, /etc/fieldlog (fieldlogd.toml, sites.toml,
#                               standards/), fieldlogd.service
#   server     fieldlog-server  fieldlog-server, fieldlog-admin, /etc/fieldlog/fieldlog-server.toml,
#                               fieldlog-server.service
#
# `cpack` in a configured and built tree writes both (scripts/package.sh does all of it).
# Maintainer scripts live in packaging/debian/<package>/; every file a package installs under
# /etc is a conffile, so an administrator's edits survive upgrades.
#
# Included before GNUInstallDirs: the packages need CMAKE_INSTALL_PREFIX=/usr. The config goes to
# ${CMAKE_INSTALL_FULL_SYSCONFDIR}/fieldlog, which is /etc/fieldlog only for that prefix, where
# the programs look by default, and the units start /usr/sbin/fieldlogd and
# /usr/sbin/fieldlog-server. So /usr is the default prefix for any install, not just packages.

if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
    set(CMAKE_INSTALL_PREFIX "/usr" CACHE PATH
        "Install prefix; /usr is what the systemd units and the Debian packages expect" FORCE)
endif()

# Debian's name for the target architecture: from the toolchain when cross-compiling.
set(FIELDLOG_DEB_ARCHITECTURE "" CACHE STRING
    "Debian architecture of the packages (empty: derived from CMAKE_SYSTEM_PROCESSOR)")
if(FIELDLOG_DEB_ARCHITECTURE)
    set(fieldlog_deb_arch "${FIELDLOG_DEB_ARCHITECTURE}")
else()
    string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" fieldlog_processor)
    if(fieldlog_processor MATCHES "^(aarch64|arm64)$")
        set(fieldlog_deb_arch arm64)
    elseif(fieldlog_processor MATCHES "^(arm|armhf|armv7.*|armv8l)$")
        set(fieldlog_deb_arch armhf)
    elseif(fieldlog_processor MATCHES "^(x86_64|amd64)$")
        set(fieldlog_deb_arch amd64)
    elseif(fieldlog_processor MATCHES "^(i[3-6]86|x86)$")
        set(fieldlog_deb_arch i386)
    else()
        set(fieldlog_deb_arch "${fieldlog_processor}")
        message(WARNING "fieldlog packaging: no Debian architecture known for processor "
                        "'${CMAKE_SYSTEM_PROCESSOR}'; set FIELDLOG_DEB_ARCHITECTURE")
    endif()
endif()
# Debian's GNU triplet for the architecture: dpkg-shlibdeps runs <triplet>-objdump on foreign
# binaries.
set(fieldlog_deb_gnu_type_amd64 x86_64-linux-gnu)
set(fieldlog_deb_gnu_type_arm64 aarch64-linux-gnu)
set(fieldlog_deb_gnu_type_armhf arm-linux-gnueabihf)
set(fieldlog_deb_gnu_type_i386 i686-linux-gnu)
set(fieldlog_deb_gnu_type "${fieldlog_deb_gnu_type_${fieldlog_deb_arch}}")

# Depends, written out for when dpkg-shlibdeps cannot compute them: a cross build whose target
# libraries dpkg does not know (a private sysroot) or a host without the cross objdump. Debian 12
# names these runtime packages the same on every architecture. tests/packaging checks, on a
# native build, that these lists name the packages dpkg-shlibdeps finds.
set(FIELDLOG_DEVICE_FALLBACK_DEPENDS
    "libc6 (>= 2.34)" "libgcc-s1 (>= 3.0)" "libstdc++6 (>= 12)" "libssl3 (>= 3.0.0)"
    "libsqlite3-0 (>= 3.37.0)" "libexif12 (>= 0.6.21-1~)" "libgpiod2 (>= 1.5.1)"
    "libtomlplusplus3 (>= 3.2.0)" "libsystemd0" "libboost-json1.81.0 (>= 1.81.0)")
set(FIELDLOG_SERVER_FALLBACK_DEPENDS
    "libc6 (>= 2.34)" "libgcc-s1 (>= 3.0)" "libstdc++6 (>= 12)" "libssl3 (>= 3.0.0)"
    "libsqlite3-0 (>= 3.37.0)" "libcurl4 (>= 7.16.2)" "libtomlplusplus3 (>= 3.2.0)"
    "libsystemd0" "libboost-json1.81.0 (>= 1.81.0)" "libboost-url1.81.0 (>= 1.81.0)")

# dpkg-shlibdeps works natively, and for a cross build when dpkg holds the target's libraries
# (multiarch, `apt-get install libfoo:arm64`) and the cross objdump is installed: it then only
# needs DEB_HOST_ARCH, which the CPack project config below sets.
set(fieldlog_shlibdeps_default ON)
set(fieldlog_shlibdeps_why "")
if(CMAKE_CROSSCOMPILING)
    execute_process(
        COMMAND dpkg-query -W -f=\${Status} libc6:${fieldlog_deb_arch}
        OUTPUT_VARIABLE fieldlog_libc_status ERROR_QUIET RESULT_VARIABLE fieldlog_libc_result)
    find_program(FIELDLOG_CROSS_OBJDUMP NAMES ${fieldlog_deb_gnu_type}-objdump)
    if(CMAKE_SYSROOT)
        set(fieldlog_shlibdeps_why "the target libraries are in a sysroot dpkg does not know")
    elseif(NOT fieldlog_libc_result EQUAL 0 OR NOT fieldlog_libc_status MATCHES "ok installed")
        set(fieldlog_shlibdeps_why "libc6:${fieldlog_deb_arch} is not installed")
    elseif(NOT FIELDLOG_CROSS_OBJDUMP)
        set(fieldlog_shlibdeps_why "${fieldlog_deb_gnu_type}-objdump is not installed")
    endif()
    if(fieldlog_shlibdeps_why)
        set(fieldlog_shlibdeps_default OFF)
    endif()
endif()
option(FIELDLOG_DEB_SHLIBDEPS "Compute the packages' Depends with dpkg-shlibdeps"
       ${fieldlog_shlibdeps_default})
if(NOT FIELDLOG_DEB_SHLIBDEPS AND fieldlog_shlibdeps_why)
    message(STATUS "fieldlog packaging: explicit Depends (${fieldlog_shlibdeps_why})")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fieldlog)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "fieldlog maintainers <fieldlog@localhost>" CACHE STRING
    "Maintainer field of the Debian packages")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL device server)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${fieldlog_deb_arch}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ${FIELDLOG_DEB_SHLIBDEPS})
# Maintainer scripts 0755 and conffiles 0644 whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DEVICE_PACKAGE_NAME fieldlog)
set(CPACK_DEBIAN_DEVICE_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_DEVICE_DESCRIPTION
    "field-inspection recorder for handhelds and Raspberry Pi-class boards
fieldlogd records environmental site inspections offline into a durable SQLite store:
wastewater readings judged against discharge limits, geotagged evidence photos, complaint
verifications, document hand-overs and rectifications, chained into a signed evidence log.
It syncs to fieldlog-server whenever a link is up. The fieldlog command is the inspector's
client.")
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME fieldlog-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SERVER_DESCRIPTION
    "office sync server for fieldlog devices
fieldlog-server receives record batches and resumable photo uploads from fieldlog devices,
keeps every record exactly once and checks each device's signed evidence chain.
fieldlog-admin enrols and revokes devices and reads records, logs and summaries.")

# The packages' own Depends: adduser for the maintainer scripts, and the libraries when
# dpkg-shlibdeps does not compute them. fieldlogd loads libcurl.so.4 with dlopen once sync is
# configured (sync/client/src/curl_api.hpp), so dpkg-shlibdeps cannot see it: 7.85 brought
# CURLOPT_PROTOCOLS_STR.
set(fieldlog_device_depends adduser "libcurl4 (>= 7.85.0)")
set(fieldlog_server_depends adduser)
# The complete Depends without dpkg-shlibdeps, for tests/packaging to compare with what
# dpkg-shlibdeps finds.
set(fieldlog_device_fallback ${fieldlog_device_depends} ${FIELDLOG_DEVICE_FALLBACK_DEPENDS})
set(fieldlog_server_fallback ${fieldlog_server_depends} ${FIELDLOG_SERVER_FALLBACK_DEPENDS})
list(JOIN fieldlog_device_fallback ", " fieldlog_joined)
file(WRITE "${PROJECT_BINARY_DIR}/packaging/fallback-depends-fieldlog.txt" "${fieldlog_joined}\n")
list(JOIN fieldlog_server_fallback ", " fieldlog_joined)
file(WRITE "${PROJECT_BINARY_DIR}/packaging/fallback-depends-fieldlog-server.txt"
     "${fieldlog_joined}\n")
if(NOT FIELDLOG_DEB_SHLIBDEPS)
    set(fieldlog_device_depends ${fieldlog_device_fallback})
    set(fieldlog_server_depends ${fieldlog_server_fallback})
endif()
list(JOIN fieldlog_device_depends ", " CPACK_DEBIAN_DEVICE_PACKAGE_DEPENDS)
list(JOIN fieldlog_server_depends ", " CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS)

# Conffiles: every file the package puts under /etc/fieldlog, where the config goes for the /usr
# prefix only. The standards are data an office may edit or add to; a standard file shipped
# later becomes a new conffile.
set(fieldlog_confdir "/etc/fieldlog")
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(FIELDLOG_PACKAGING_USABLE ON)
else()
    set(FIELDLOG_PACKAGING_USABLE OFF)
    message(STATUS "fieldlog packaging: CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}, not /usr; "
                   "configure with -DCMAKE_INSTALL_PREFIX=/usr to build working packages")
endif()
file(GLOB fieldlog_standards CONFIGURE_DEPENDS
     RELATIVE "${PROJECT_SOURCE_DIR}/config/standards" "${PROJECT_SOURCE_DIR}/config/standards/*.toml")
set(fieldlog_device_conffiles
    "${fieldlog_confdir}/fieldlogd.toml\n${fieldlog_confdir}/sites.toml\n")
foreach(standard IN LISTS fieldlog_standards)
    string(APPEND fieldlog_device_conffiles "${fieldlog_confdir}/standards/${standard}\n")
endforeach()
file(WRITE "${PROJECT_BINARY_DIR}/packaging/fieldlog/conffiles" "${fieldlog_device_conffiles}")
file(WRITE "${PROJECT_BINARY_DIR}/packaging/fieldlog-server/conffiles"
     "${fieldlog_confdir}/fieldlog-server.toml\n")

set(fieldlog_scripts "${PROJECT_SOURCE_DIR}/packaging/debian")
set(CPACK_DEBIAN_DEVICE_PACKAGE_CONTROL_EXTRA
    "${PROJECT_BINARY_DIR}/packaging/fieldlog/conffiles"
    "${fieldlog_scripts}/fieldlog/postinst"
    "${fieldlog_scripts}/fieldlog/prerm"
    "${fieldlog_scripts}/fieldlog/postrm")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    "${PROJECT_BINARY_DIR}/packaging/fieldlog-server/conffiles"
    "${fieldlog_scripts}/fieldlog-server/postinst"
    "${fieldlog_scripts}/fieldlog-server/prerm"
    "${fieldlog_scripts}/fieldlog-server/postrm")

# Runs inside cpack: dpkg-shlibdeps reads the target architecture from DEB_HOST_ARCH.
if(CMAKE_CROSSCOMPILING AND FIELDLOG_DEB_SHLIBDEPS)
    file(WRITE "${PROJECT_BINARY_DIR}/packaging/cpack-project-config.cmake"
         "set(ENV{DEB_HOST_ARCH} \"${fieldlog_deb_arch}\")\n")
else()
    file(WRITE "${PROJECT_BINARY_DIR}/packaging/cpack-project-config.cmake" "")
endif()
set(CPACK_PROJECT_CONFIG_FILE "${PROJECT_BINARY_DIR}/packaging/cpack-project-config.cmake")

include(CPack)
