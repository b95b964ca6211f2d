# fcgi/local.mk - hawk-fcgi, the FastCGI/CGI responder.
include fcgi/symbols.mk
