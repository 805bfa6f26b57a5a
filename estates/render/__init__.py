"""What people look at: map pages, the index page, the PNG, the GeoPackage styles."""
