"""S3 POST object (browser form uploads): ``form`` streams multipart/form-data, ``policy`` checks the
signed policy document, ``handler`` authenticates from the form and stores the file."""
