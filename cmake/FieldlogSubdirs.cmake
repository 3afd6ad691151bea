# Adds each listed folder that has a CMakeLists.txt, so parts can land one at a time.
# FIELDLOG_SKIP_DIRS (paths relative to the repository root) leaves folders out of a build.
set(FIELDLOG_SKIP_DIRS "" CACHE STRING "Folders to leave out of the build (relative paths)")

function(fieldlog_add_subdirectories)
    foreach(dir IN LISTS ARGN)
        file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/${dir}")
        if(rel IN_LIST FIELDLOG_SKIP_DIRS)
            continue()
        endif()
        if(EXISTS "${CMAKE_CURRENT_SOURCE_DIR}/${dir}/CMakeLists.txt")
            add_subdirectory(${dir})
        endif()
    endforeach()
endfunction()
