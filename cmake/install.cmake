#  Installation and packaging: the static library next to the shared one,
#  pkg-config file, binaries with an install RPATH, man pages (scdoc), the
#  systemd unit and its config, bash completion, and the packaging tests.
#  Included from the top CMakeLists.txt after every target is defined; it
#  uses ZMX_SOURCES, the library's source list.

include (GNUInstallDirs)

#  The static library, from the same sources as the shared one. Not for
#  sanitizer or fuzzer builds: those are never installed.
if (NOT ZMX_SANITIZE AND NOT ZMX_FUZZ)
    #  Compiled as the shared library is, whatever its include directories
    #  and definitions become
    add_library (zmx-static STATIC ${ZMX_SOURCES})
    target_include_directories (zmx-static PRIVATE $<TARGET_PROPERTY:zmx,INCLUDE_DIRECTORIES>)
    target_compile_definitions (zmx-static PRIVATE $<TARGET_PROPERTY:zmx,COMPILE_DEFINITIONS>)
    target_compile_options (zmx-static PRIVATE $<TARGET_PROPERTY:zmx,COMPILE_OPTIONS>)
    target_link_libraries (zmx-static PUBLIC PkgConfig::CZMQ PkgConfig::ZMQ PkgConfig::SODIUM
                           Threads::Threads PkgConfig::OPENSSL PkgConfig::XXHASH)
    set_target_properties (zmx-static PROPERTIES OUTPUT_NAME zmx)
    set (ZMX_STATIC_TARGET zmx-static)
endif ()

#  Installed binaries find libzmx.so.0 relative to themselves, wherever the
#  tree is installed. Distribution packages pass -DCMAKE_SKIP_INSTALL_RPATH=ON
#  (the library is then in the system path).
list (FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${CMAKE_INSTALL_FULL_LIBDIR}" ZMX_LIBDIR_SYSTEM)
if (NOT DEFINED CMAKE_INSTALL_RPATH AND ZMX_LIBDIR_SYSTEM EQUAL -1)
    set_target_properties (zmxd zmx-cli PROPERTIES
        INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
endif ()

#  Where the unit and the daemon's config go. With the /usr prefix the
#  config goes to /etc (as GNUInstallDirs' CMAKE_INSTALL_FULL_SYSCONFDIR);
#  otherwise below the prefix, so that `cmake --install --prefix P` and
#  DESTDIR stay inside P.
if (CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set (ZMX_CONFIG_DIR_DEFAULT "/etc/zmx")
else ()
    set (ZMX_CONFIG_DIR_DEFAULT "${CMAKE_INSTALL_SYSCONFDIR}/zmx")
endif ()
set (ZMX_CONFIG_DIR "${ZMX_CONFIG_DIR_DEFAULT}" CACHE STRING
     "Where zmxd.cfg is installed (relative paths are below the prefix)")
set (ZMX_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
     "Where zmxd.service is installed (relative paths are below the prefix)")
if (IS_ABSOLUTE "${ZMX_CONFIG_DIR}")
    set (ZMX_CONFIG_FILE "${ZMX_CONFIG_DIR}/zmxd.cfg")
else ()
    set (ZMX_CONFIG_FILE "${CMAKE_INSTALL_PREFIX}/${ZMX_CONFIG_DIR}/zmxd.cfg")
endif ()

install (TARGETS zmx ${ZMX_STATIC_TARGET}
         LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
         ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install (TARGETS zmx-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install (TARGETS zmxd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install (DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

#  pkg-config: Requires libczmq and libzmq (zmx.h includes czmq.h, which
#  includes zmq.h); Requires.private what only linking libzmx.a needs:
#  libsodium (CURVE), libcrypto (SHA-1) and libxxhash.
#  Below a non-system prefix the file is relocatable (paths from its own
#  place, ${pcfiledir}), so that a tree installed with --prefix P or moved
#  afterwards still compiles.
if (CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set (ZMX_PC_PREFIX "/usr")
else ()
    file (RELATIVE_PATH ZMX_PC_UP "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
    string (REGEX REPLACE "/$" "" ZMX_PC_UP "${ZMX_PC_UP}")
    set (ZMX_PC_PREFIX "\${pcfiledir}/${ZMX_PC_UP}")
endif ()
set (ZMX_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
set (ZMX_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
configure_file (${CMAKE_SOURCE_DIR}/packaging/libzmx.pc.in ${CMAKE_BINARY_DIR}/libzmx.pc @ONLY)
install (FILES ${CMAKE_BINARY_DIR}/libzmx.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

#  The daemon's service: unit, config, and (for packages) the state it
#  keeps in /var/lib/zmx.
configure_file (${CMAKE_SOURCE_DIR}/packaging/zmxd.service.in
                ${CMAKE_BINARY_DIR}/zmxd.service @ONLY)
install (FILES ${CMAKE_BINARY_DIR}/zmxd.service DESTINATION ${ZMX_SYSTEMD_UNIT_DIR})

#  The installed zmxd.cfg is config/zmxd.cfg (every key, explained) with the
#  service's paths: data in /var/lib/zmx (the unit's StateDirectory, also
#  its working directory) and the resolver's socket in /run/zmx (its
#  RuntimeDirectory; with PrivateTmp, /tmp would be the service's own).
set_property (DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/config/zmxd.cfg)
file (READ ${CMAKE_SOURCE_DIR}/config/zmxd.cfg ZMX_CFG)
foreach (edit
        "#   Run with:   zmxd -c config/zmxd.cfg|#   Run with:   systemctl start zmxd (runs zmxd -c ${ZMX_CONFIG_FILE})"
        "#   Check with: zmxd -c config/zmxd.cfg --print-config|#   Check with: zmxd -c ${ZMX_CONFIG_FILE} --print-config"
        "data-directory = \"zmxd-data/clone\"|data-directory = \"/var/lib/zmx/clone\""
        "directory = \"zmxd-data/titanic\"|directory = \"/var/lib/zmx/titanic\""
        "data-directory = \"zmxd-data/streams\"|data-directory = \"/var/lib/zmx/streams\""
        "endpoint = \"ipc:///tmp/zmx-resolver,|endpoint = \"ipc:///run/zmx/resolver,")
    string (REPLACE "|" ";" edit "${edit}")
    list (GET edit 0 from)
    list (GET edit 1 to)
    string (FIND "${ZMX_CFG}" "${from}" found)
    if (found EQUAL -1)
        message (FATAL_ERROR "config/zmxd.cfg no longer has '${from}': update the installed "
                             "config's edits in cmake/install.cmake")
    endif ()
    string (REPLACE "${from}" "${to}" ZMX_CFG "${ZMX_CFG}")
endforeach ()
file (GENERATE OUTPUT ${CMAKE_BINARY_DIR}/zmxd.cfg CONTENT "#   Installed by zmx for zmxd.service; see zmxd.cfg(5).
${ZMX_CFG}")
install (FILES ${CMAKE_BINARY_DIR}/zmxd.cfg DESTINATION ${ZMX_CONFIG_DIR})

install (FILES ${CMAKE_SOURCE_DIR}/packaging/bash-completion/zmx
         DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

#  Man pages, from scdoc sources in docs/man/NAME.SECTION.scd
find_program (SCDOC scdoc REQUIRED)
file (GLOB ZMX_MAN_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.scd)
set (ZMX_MAN_PAGES "")
foreach (source ${ZMX_MAN_SOURCES})
    get_filename_component (page ${source} NAME_WLE)
    string (REGEX REPLACE "^.*\\.([0-9])$" "\\1" section ${page})
    set (output ${CMAKE_BINARY_DIR}/man/${page})
    add_custom_command (OUTPUT ${output}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
        COMMAND sh -c "\"$1\" < \"$2\" > \"$3\"" scdoc ${SCDOC} ${source} ${output}
        DEPENDS ${source}
        COMMENT "Generating man page ${page}"
        VERBATIM)
    list (APPEND ZMX_MAN_PAGES ${output})
    install (FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach ()
add_custom_target (zmx-man ALL DEPENDS ${ZMX_MAN_PAGES})

#  Tests of all the above; not in sanitizer or fuzzer builds (what they
#  install could not run outside those builds' runtime)
if (NOT ZMX_SANITIZE AND NOT ZMX_FUZZ)
    add_subdirectory (${CMAKE_SOURCE_DIR}/tests/packaging ${CMAKE_BINARY_DIR}/tests/packaging)
endif ()
